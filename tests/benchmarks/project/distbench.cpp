// SPDX-License-Identifier: GPL-3.0-or-later
// icmil-dist-bench: what torch.distributed buys on this machine.
//  1. Extraction: the same slides extracted by 1 process and by N processes (ranks of one job,
//     Gloo on the loopback device, rank r pinned to core r, each rank one intra-op thread and one
//     reader thread, each extracting its share of the slides, project/dataset/slideshare.h),
//     patches/s from the first barrier to the last; scaling efficiency = rate(N) / (N x rate(1)).
//  2. ICMIL fine-tuning: the same global batches (random patches in memory: the model's work
//     only, no slide reading) stepped by 1 process and data-parallel by N ranks
//     (engine/icmil/teacherstudent.h: each rank its share, gradients summed), each rank one
//     intra-op thread; patches/s over the timed steps after a warm-up step; efficiency as above.
//  3. All-reduce: two ranks (threads of this process, Gloo over TCP on the loopback device) sum
//     float32 tensors from 4 KB to 64 MB; bytes per second of the tensor (algorithm bandwidth).
// The dataset (synthetic slides) is generated once into DIR and tiled by a first extraction, so
// the timed runs only extract. The ranks are this program again (--worker), started with
// posix_spawn.
//
//   icmil-dist-bench [--slides 8] [--size 6000x4800] [--embedder tiny-cnn] [--ranks 2] [--dir DIR]
//                    [--finetune-batch 32] [--finetune-steps 8]

#include "common/freeport.h"
#include "common/loopbackjob.h"
#include "engine/distributed/distributedgroup.h"
#include "engine/embedders/embedder.h"
#include "engine/icmil/teacherstudent.h"
#include "engine/mil/milmodel.h"
#include "engine/runtime/runtime.h"
#include "project/dataset/slidelist.h"
#include "project/dataset/slideshare.h"
#include "project/dataset/syntheticdataset.h"
#include "project/features/featureextractor.h"

#include <torch/torch.h>

#include <chrono>
#include <future>
#include <iomanip>
#include <iostream>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sched.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char **environ;

namespace fs = std::filesystem;
using namespace icmil;

namespace {

struct Options {
    int slides = 8;
    std::int64_t width = 6000;
    std::int64_t height = 4800;
    std::string embedder = "tiny-cnn";
    int ranks = 2;
    fs::path dir = fs::temp_directory_path() / "icmil-dist-bench";
    int finetuneBatch = 32;
    int finetuneSteps = 8;
    std::string mode = "extract"; // what a worker does: extract or finetune
    // --worker RANK WORLD PORT
    int workerRank = -1;
    int workerWorld = 0;
    int workerPort = 0;
};

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

project::ExtractionConfig extractionConfig(const Options &options)
{
    project::ExtractionConfig config;
    config.projectDir = options.dir / "project";
    config.embedder.name = options.embedder;
    config.device = "cpu";
    config.readerThreads = 1;
    config.overwrite = true;
    return config;
}

std::vector<project::SlideEntry> datasetSlides(const Options &options)
{
    return project::listSlides(options.dir / "dataset").slides;
}

// Rank r runs on core r (modulo the cores): one process's rate is one core's, so that N ranks on N
// cores measure scaling rather than how much of a second core one process already used (its
// reader thread does).
void pinToCore(int rank)
{
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<unsigned>(rank) % cores, &set);
    sched_setaffinity(0, sizeof set, &set);
}

std::unique_ptr<engine::DistributedGroup> joinJob(const Options &options)
{
    pinToCore(options.workerRank);
    if (options.workerWorld <= 1)
        return nullptr;
    return std::make_unique<engine::DistributedGroup>(
        test::loopbackSettings(options.workerRank, options.workerWorld, options.workerPort, std::chrono::seconds(600), "icmil-dist-bench"));
}

// One rank of the fine-tuning job: its share of each global batch, a warm-up step, then the timed
// steps between two barriers; rank 0 prints "PATCHES SECONDS".
int finetuneWorker(const Options &options)
{
    engine::configureThreads(1);
    const std::unique_ptr<engine::DistributedGroup> group = joinJob(options);
    engine::EmbedderConfig embedderConfig;
    embedderConfig.name = options.embedder;
    embedderConfig.seed = 3;
    const std::unique_ptr<engine::Embedder> embedder = engine::makeEmbedder(embedderConfig);
    engine::MilModelConfig head;
    head.type = engine::MilModelType::Abmil;
    head.inputDim = embedder->featureDim();
    head.seed = 5;
    const std::shared_ptr<engine::MilModel> classifier = engine::makeMilModel(head);
    engine::DistillationConfig config;
    config.confidenceWeighted = true;
    engine::TeacherStudentDistiller distiller(*embedder, *classifier, config, group.get());
    const std::int64_t batch = options.finetuneBatch;
    const int world = std::max(1, options.workerWorld);
    const std::int64_t low = batch * options.workerRank / world;
    const std::int64_t high = batch * (options.workerRank + 1) / world;
    const torch::Tensor patches = torch::rand({high - low, 3, embedder->inputSize(), embedder->inputSize()});
    const engine::BatchShard shard{batch, low};
    distiller.step(patches, {}, shard); // warm-up
    if (group)
        group->barrier("start");
    const auto start = Clock::now();
    for (int step = 0; step < options.finetuneSteps; ++step)
        distiller.step(patches, {}, shard);
    if (group)
        group->barrier("end");
    const double seconds = secondsSince(start);
    if (options.workerRank == 0)
        std::cout << batch * options.finetuneSteps << ' ' << seconds << std::endl;
    return 0;
}

// One rank: joins the job (when there is more than one), extracts its share between two
// barriers, and (rank 0) prints "PATCHES SECONDS" for the whole job.
int worker(const Options &options)
{
    if (options.mode == "finetune")
        return finetuneWorker(options);
    engine::configureThreads(1);
    const std::unique_ptr<engine::DistributedGroup> group = joinJob(options);
    const std::vector<project::SlideEntry> share
        = project::slideShare(datasetSlides(options), options.workerRank, std::max(1, options.workerWorld));
    project::FeatureExtractor extractor(extractionConfig(options));
    if (group)
        group->barrier("start");
    const auto start = Clock::now();
    const project::ExtractionReport report = extractor.run(share);
    if (report.failed() > 0)
        throw std::runtime_error("extraction failed: " + report.slides.front().message);
    torch::Tensor patches = torch::tensor({static_cast<double>(report.patches)}, torch::kDouble);
    if (group) {
        group->barrier("end");
        group->allReduceSum(patches, "patch count");
    }
    const double seconds = secondsSince(start);
    if (options.workerRank == 0)
        std::cout << static_cast<std::int64_t>(patches.item<double>()) << ' ' << seconds << std::endl;
    return 0;
}

// Runs `world` ranks of this program; rank 0's "PATCHES SECONDS".
std::pair<std::int64_t, double> runJob(const Options &options, const char *self, int world)
{
    const int port = test::freeLoopbackPort();
    int pipeFds[2];
    if (::pipe(pipeFds) != 0)
        throw std::runtime_error("pipe failed");
    std::vector<pid_t> pids;
    for (int rank = 0; rank < world; ++rank) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        if (rank == 0)
            posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, pipeFds[0]);
        std::vector<std::string> args{self,
                                      "--worker",
                                      std::to_string(rank),
                                      std::to_string(world),
                                      std::to_string(port),
                                      "--dir",
                                      options.dir.string(),
                                      "--embedder",
                                      options.embedder,
                                      "--mode",
                                      options.mode,
                                      "--finetune-batch",
                                      std::to_string(options.finetuneBatch),
                                      "--finetune-steps",
                                      std::to_string(options.finetuneSteps)};
        std::vector<char *> argv;
        for (std::string &a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = 0;
        if (posix_spawn(&pid, self, &actions, nullptr, argv.data(), environ) != 0)
            throw std::runtime_error("could not start a rank");
        posix_spawn_file_actions_destroy(&actions);
        pids.push_back(pid);
    }
    ::close(pipeFds[1]);
    std::string output;
    char buffer[256];
    ssize_t n = 0;
    while ((n = ::read(pipeFds[0], buffer, sizeof buffer)) > 0)
        output.append(buffer, static_cast<std::size_t>(n));
    ::close(pipeFds[0]);
    for (pid_t pid : pids) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw std::runtime_error("a rank failed");
    }
    std::istringstream in(
        output.substr(output.rfind('\n', output.size() - 2) == std::string::npos ? 0 : output.rfind('\n', output.size() - 2) + 1));
    std::int64_t patches = 0;
    double seconds = 0.0;
    in >> patches >> seconds;
    return {patches, seconds};
}

void allReduceTable()
{
    std::cout << "\nAll-reduce, 2 ranks (threads of one process), Gloo over TCP on the loopback device\n";
    std::cout << std::setw(12) << "bytes" << std::setw(12) << "repeats" << std::setw(14) << "ms each" << std::setw(14) << "MB/s" << '\n';
    const int port = test::freeLoopbackPort();
    const std::vector<std::int64_t> sizes{1024, 16384, 262144, 1048576, 4194304, 16777216}; // float32 elements / 4 bytes
    auto rankWork = [&](int rank) {
        engine::DistributedGroup group(test::loopbackSettings(rank, 2, port, std::chrono::seconds(1800), "icmil-dist-bench"));
        std::vector<double> perCall;
        for (const std::int64_t elements : sizes) {
            torch::Tensor tensor = torch::ones({elements});
            group.allReduceSum(tensor, "warm-up");
            const int repeats = static_cast<int>(std::clamp<std::int64_t>(64 * 1048576 / (elements * 4), 3, 200));
            group.barrier("size");
            const auto start = Clock::now();
            for (int i = 0; i < repeats; ++i)
                group.allReduceSum(tensor, "all-reduce");
            perCall.push_back(secondsSince(start) / repeats);
        }
        return perCall;
    };
    auto other = std::async(std::launch::async, rankWork, 1);
    const std::vector<double> perCall = rankWork(0);
    other.get();
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const double bytes = static_cast<double>(sizes[i]) * 4.0;
        const int repeats = static_cast<int>(std::clamp<std::int64_t>(64 * 1048576 / (sizes[i] * 4), 3, 200));
        std::cout << std::setw(12) << static_cast<std::int64_t>(bytes) << std::setw(12) << repeats << std::setw(14) << std::fixed
                  << std::setprecision(3) << perCall[i] * 1000.0 << std::setw(14) << std::setprecision(1) << bytes / perCall[i] / 1e6
                  << '\n';
    }
}

} // namespace

int main(int argc, char **argv)
{
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool hasValue = i + 1 < argc;
        if (a == "--slides" && hasValue)
            options.slides = std::stoi(argv[++i]);
        else if (a == "--size" && hasValue) {
            const std::string size = argv[++i];
            options.width = std::stoll(size.substr(0, size.find('x')));
            options.height = std::stoll(size.substr(size.find('x') + 1));
        } else if (a == "--embedder" && hasValue)
            options.embedder = argv[++i];
        else if (a == "--ranks" && hasValue)
            options.ranks = std::stoi(argv[++i]);
        else if (a == "--dir" && hasValue)
            options.dir = argv[++i];
        else if (a == "--finetune-batch" && hasValue)
            options.finetuneBatch = std::max(1, std::stoi(argv[++i]));
        else if (a == "--finetune-steps" && hasValue)
            options.finetuneSteps = std::max(1, std::stoi(argv[++i]));
        else if (a == "--mode" && hasValue)
            options.mode = argv[++i];
        else if (a == "--worker" && i + 3 < argc) {
            options.workerRank = std::stoi(argv[++i]);
            options.workerWorld = std::stoi(argv[++i]);
            options.workerPort = std::stoi(argv[++i]);
        } else {
            std::cerr << "usage: icmil-dist-bench [--slides N] [--size WxH] [--embedder NAME] [--ranks N] [--dir DIR] [--finetune-batch B] "
                         "[--finetune-steps S]\n";
            return 2;
        }
    }
    try {
        if (options.workerRank >= 0)
            return worker(options);
        if (!engine::DistributedGroup::backendAvailable("gloo")) {
            std::cerr << "icmil-dist-bench: this build has no Gloo (libgloo-dev)\n";
            return 1;
        }
        std::cout << engine::describe(engine::runtimeInfo()) << '\n';
        project::SyntheticDatasetConfig dataset;
        dataset.outputDir = options.dir / "dataset";
        dataset.slides = options.slides;
        dataset.seed = 22;
        dataset.width = options.width;
        dataset.height = options.height;
        project::SyntheticDataset(dataset).generate(); // reuses an identical earlier run
        {
            // Tiles every slide (and warms the page cache), so the timed runs only extract.
            project::FeatureExtractor warmUp(extractionConfig(options));
            warmUp.run(datasetSlides(options));
        }
        const char *self = "/proc/self/exe";
        std::cout << "Extraction, " << options.slides << " slides " << options.width << "x" << options.height << ", " << options.embedder
                  << ", each rank 1 intra-op thread and 1 reader, rank r on core r\n";
        auto scalingTable = [&](const Options &job) {
            std::cout << std::setw(8) << "ranks" << std::setw(10) << "patches" << std::setw(10) << "seconds" << std::setw(12) << "patches/s"
                      << std::setw(12) << "efficiency" << '\n';
            double single = 0.0;
            for (const int world : {1, job.ranks}) {
                const auto [patches, seconds] = runJob(job, self, world);
                const double rate = static_cast<double>(patches) / seconds;
                if (world == 1)
                    single = rate;
                std::cout << std::setw(8) << world << std::setw(10) << patches << std::setw(10) << std::fixed << std::setprecision(2)
                          << seconds << std::setw(12) << std::setprecision(1) << rate << std::setw(12) << std::setprecision(2)
                          << rate / (world * single) << '\n';
            }
        };
        scalingTable(options);
        Options finetune = options;
        finetune.mode = "finetune";
        std::cout << "\nICMIL fine-tuning (teacher-student, ABMIL head, confidence weights), " << options.embedder << ", global batch "
                  << options.finetuneBatch << ", " << options.finetuneSteps << " timed steps, each rank 1 intra-op thread on its core\n";
        scalingTable(finetune);
        allReduceTable();
    } catch (const std::exception &error) {
        std::cerr << "icmil-dist-bench: " << error.what() << '\n';
        return 1;
    }
    return 0;
}
