// SPDX-License-Identifier: GPL-3.0-or-later
// icmil-mil-bench: how fast the bag classifiers train and predict.
//
//   icmil-mil-bench [--bags 200] [--patches 2000] [--dim 1024] [--epochs 1] [--device auto] [--json FILE]
//
// Generates a feature set (bags of N x D random features, half of them with a shifted minority of
// instances), then for ABMIL, MaxPool and DTFD-MIL times training epochs (reference settings: one
// bag per step, Adam, clipping) and one prediction pass. Figures: epoch seconds, training bags/s,
// prediction bags/s, and, as a baseline measured in the same run, the BLAS floor: the time of the
// two matrix products every model must do per bag (dim_reduction forward and its weight gradient),
// so "x floor" says how much the rest (attention, optimiser, framework) costs on this machine.

#include "engine/mil/bagtrainer.h"
#include "engine/runtime/runtime.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace icmil::engine;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Options {
    int bags = 200;
    int patches = 2000;
    int dim = 1024;
    int epochs = 1;
    std::string device = "auto";
    std::string json;
};

Options parse(int argc, char **argv)
{
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool hasValue = i + 1 < argc;
        if (arg == "--bags" && hasValue)
            options.bags = std::atoi(argv[++i]);
        else if (arg == "--patches" && hasValue)
            options.patches = std::atoi(argv[++i]);
        else if (arg == "--dim" && hasValue)
            options.dim = std::atoi(argv[++i]);
        else if (arg == "--epochs" && hasValue)
            options.epochs = std::atoi(argv[++i]);
        else if (arg == "--device" && hasValue)
            options.device = argv[++i];
        else if (arg == "--json" && hasValue)
            options.json = argv[++i];
        else {
            std::cerr << "usage: icmil-mil-bench [--bags N] [--patches N] [--dim D] [--epochs E] [--device auto|cpu|cuda] [--json FILE]\n";
            std::exit(2);
        }
    }
    if (options.bags < 2 || options.patches < 1 || options.dim < 1 || options.epochs < 1) {
        std::cerr << "error: --bags >= 2, --patches, --dim and --epochs >= 1\n";
        std::exit(2);
    }
    return options;
}

std::vector<Bag> makeBags(const Options &options)
{
    auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
    std::vector<Bag> bags;
    for (int i = 0; i < options.bags; ++i) {
        torch::Tensor features = torch::randn({options.patches, options.dim}, generator);
        const int label = i % 2;
        if (label)
            features.slice(0, 0, std::max(1, options.patches / 10)).slice(1, 0, 16) += 1.0;
        bags.push_back({"bag" + std::to_string(i), features, label});
    }
    return bags;
}

// The two products every model does per training bag in dim_reduction: X W^T and dL/dW = G^T X.
double blasFloorSeconds(const Options &options, torch::Device device, int repeats)
{
    const torch::Tensor x = torch::randn({options.patches, options.dim}, device);
    const torch::Tensor w = torch::randn({512, options.dim}, device);
    const torch::Tensor g = torch::randn({options.patches, 512}, device);
    torch::mm(x, w.t());
    const auto start = Clock::now();
    for (int i = 0; i < repeats; ++i) {
        const torch::Tensor y = torch::mm(x, w.t());
        const torch::Tensor dw = torch::mm(g.t(), x);
        if (device.is_cuda())
            (void)dw.sum().item<float>();
    }
    return since(start) / repeats;
}

} // namespace

int main(int argc, char **argv)
{
    preferPassiveOpenMpWait(argv);
    const Options options = parse(argc, argv);
    configureThreads(0);
    const torch::Device device = resolveDevice(parseDevice(options.device));
    std::cout << describe(runtimeInfo()) << '\n';
    std::cout << "Feature set: " << options.bags << " bags of " << options.patches << " x " << options.dim << " features (" << std::fixed
              << std::setprecision(2) << 4.0 * options.bags * options.patches * options.dim / (1 << 30) << " GiB), device " << device.str()
              << "; " << options.epochs << " epoch(s) per model\n";
    const auto generated = Clock::now();
    const std::vector<Bag> bags = makeBags(options);
    std::cout << "Generated in " << since(generated) << " s\n\n";
    const double floor = blasFloorSeconds(options, device, 5);

    std::ostringstream json;
    json << "{\"bags\":" << options.bags << ",\"patches\":" << options.patches << ",\"dim\":" << options.dim << ",\"device\":\""
         << device.str() << "\",\"blas_floor_ms_per_bag\":" << floor * 1e3 << ",\"models\":{";
    std::cout << std::left << std::setw(9) << "model" << std::right << std::setw(12) << "epoch s" << std::setw(14) << "train bags/s"
              << std::setw(13) << "x floor" << std::setw(16) << "predict bags/s" << std::setw(12) << "final loss" << '\n';
    bool first = true;
    for (MilModelType type : {MilModelType::Abmil, MilModelType::MaxPool, MilModelType::Dtfd}) {
        MilModelConfig config;
        config.type = type;
        config.inputDim = options.dim;
        auto model = makeMilModel(config);
        BagTrainerConfig trainerConfig;
        trainerConfig.epochs = options.epochs;
        trainerConfig.device = device.str();
        BagTrainer trainer(model, trainerConfig);
        const TrainingResult result = trainer.train(bags, {});
        const double epochSeconds = result.seconds / options.epochs;
        const double trainRate = options.bags / epochSeconds;

        const auto predictStart = Clock::now();
        for (const Bag &bag : bags)
            predictBag(*model, bag);
        const double predictRate = options.bags / since(predictStart);
        const double ratio = epochSeconds / (floor * options.bags);
        std::cout << std::left << std::setw(9) << milModelTypeName(type) << std::right << std::setprecision(2) << std::setw(12)
                  << epochSeconds << std::setprecision(1) << std::setw(14) << trainRate << std::setprecision(2) << std::setw(13) << ratio
                  << std::setprecision(1) << std::setw(16) << predictRate << std::setprecision(4) << std::setw(12)
                  << result.history.back().trainLoss << '\n';
        json << (first ? "" : ",") << "\"" << milModelTypeName(type) << "\":{\"epoch_seconds\":" << epochSeconds
             << ",\"train_bags_per_s\":" << trainRate << ",\"x_blas_floor\":" << ratio << ",\"predict_bags_per_s\":" << predictRate << "}";
        first = false;
    }
    json << "}}";
    std::cout << "\nBLAS floor: " << std::setprecision(2) << floor * 1e3
              << " ms per bag (dim_reduction's forward product and weight gradient)\n";
    std::cout << json.str() << '\n';
    if (!options.json.empty())
        std::ofstream(options.json) << json.str() << '\n';
    return 0;
}
