// icmil-loop-bench: the ICMIL loop on the synthetic dataset, iterations 0..K, with per iteration
// the classifier's validation and test AUC, the attention localisation score against the
// generator's ground-truth tumour masks, and the wall time of each phase, fine-tuning patches/s
// included.
//
//   icmil-loop-bench [--slides 16] [--size 12000x9600] [--iterations 2] [--epochs 40] [--lr 1e-3]
//                    [--finetune-epochs 3] [--finetune-patches 3000] [--finetune-lr 1e-5]
//                    [--model abmil] [--device auto] [--bn-train] [--confidence] [--json FILE]
//                    [--dir DIR]
//
// Localisation: on every tumour slide, the top 10% of patches by attention; the score is the
// fraction of them whose centre lies in ground-truth tumour (the figure). Its ceiling,
// min(1, tumour patches / top-10% count), is printed beside it, because the synthetic tumours
// cover well under 10% of the tissue. "patch AUC" ranks every patch of those slides by attention
// against its tumour / not-tumour label: 0.5 is chance, 1 is perfect localisation.

#include "engine/milmetrics.h"
#include "engine/runtime.h"
#include "project/attentionstore.h"
#include "project/icmilloop.h"
#include "project/projectlayout.h"
#include "project/syntheticdataset.h"
#include "slide/syntheticslidewriter.h"
#include "slide/tissuedetectionparams.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace icmil;

namespace {

struct Options {
    int slides = 16;
    std::string size = "12000x9600";
    int iterations = 2;
    int epochs = 40;
    double lr = 1e-3;
    int finetuneEpochs = 3;
    std::int64_t finetunePatches = 3000;
    double finetuneLr = 1e-5;
    std::string model = "abmil";
    std::string device = "auto";
    bool bnTrain = false;
    bool confidence = false;
    std::string json;
    fs::path dir = fs::temp_directory_path() / "icmil-loop-bench";
};

struct Localisation {
    double topFraction = 0.0; // mean over tumour slides
    double ceiling = 0.0;
    double patchAuc = 0.0;    // mean over tumour slides
    int slides = 0;
};

Options parse(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::runtime_error("missing value after " + arg);
            return argv[++i];
        };
        if (arg == "--slides") o.slides = std::stoi(value());
        else if (arg == "--size") o.size = value();
        else if (arg == "--iterations") o.iterations = std::stoi(value());
        else if (arg == "--epochs") o.epochs = std::stoi(value());
        else if (arg == "--lr") o.lr = std::stod(value());
        else if (arg == "--finetune-epochs") o.finetuneEpochs = std::stoi(value());
        else if (arg == "--finetune-patches") o.finetunePatches = std::stoll(value());
        else if (arg == "--finetune-lr") o.finetuneLr = std::stod(value());
        else if (arg == "--model") o.model = value();
        else if (arg == "--device") o.device = value();
        else if (arg == "--bn-train") o.bnTrain = true;
        else if (arg == "--confidence") o.confidence = true;
        else if (arg == "--json") o.json = value();
        else if (arg == "--dir") o.dir = value();
        else
            throw std::runtime_error("unknown option " + arg);
    }
    return o;
}

Localisation localise(const project::ProjectLayout &layout, const std::string &encoder, const project::SyntheticDatasetResult &dataset,
                      int maskDownsample)
{
    Localisation result;
    double ceilings = 0.0;
    for (const project::SyntheticSlideRecord &slide : dataset.slides) {
        if (slide.label != "tumor")
            continue;
        const project::SlideAttention attention = project::readAttentionFile(layout.attentionFile(encoder, encoder, slide.slideId));
        const cv::Mat mask = cv::imread(slide.maskPath.string(), cv::IMREAD_GRAYSCALE);
        if (mask.empty())
            throw std::runtime_error("cannot read " + slide.maskPath.string());
        const std::int64_t half = attention.patchSizeLevel0.value_or(256) / 2;
        std::vector<int> tumour;
        std::vector<double> scores;
        for (std::size_t i = 0; i < attention.coords.size(); ++i) {
            const auto x = std::clamp<std::int64_t>((attention.coords[i][0] + half) / maskDownsample, 0, mask.cols - 1);
            const auto y = std::clamp<std::int64_t>((attention.coords[i][1] + half) / maskDownsample, 0, mask.rows - 1);
            tumour.push_back(mask.at<std::uint8_t>(static_cast<int>(y), static_cast<int>(x)) > 127 ? 1 : 0);
            scores.push_back(attention.attention[i]);
        }
        const auto positives = std::count(tumour.begin(), tumour.end(), 1);
        if (positives == 0 || positives == static_cast<long>(tumour.size()))
            continue; // no tumour patch in this slide's grid: nothing to localise
        std::vector<std::size_t> order(scores.size());
        for (std::size_t i = 0; i < order.size(); ++i)
            order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
        const std::size_t top = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(0.1 * static_cast<double>(order.size()))));
        int inside = 0;
        for (std::size_t i = 0; i < top; ++i)
            inside += tumour[order[i]];
        result.topFraction += static_cast<double>(inside) / static_cast<double>(top);
        ceilings += std::min(1.0, static_cast<double>(positives) / static_cast<double>(top));
        result.patchAuc += engine::rocAuc(tumour, scores);
        ++result.slides;
    }
    if (result.slides > 0) {
        result.topFraction /= result.slides;
        result.patchAuc /= result.slides;
        result.ceiling = ceilings / result.slides;
    }
    return result;
}

std::string number(const std::optional<double> &value, int decimals = 3)
{
    if (!value)
        return "-";
    std::ostringstream text;
    text << std::fixed << std::setprecision(decimals) << *value;
    return text.str();
}

} // namespace

int main(int argc, char **argv)
{
    engine::preferPassiveOpenMpWait(argv);
    engine::configureThreads(0);
    try {
        const Options o = parse(argc, argv);
        std::cout << "icmil-loop-bench: " << engine::describe(engine::runtimeInfo()) << "\n";

        project::SyntheticDatasetConfig synth;
        synth.outputDir = o.dir / "dataset";
        synth.slides = o.slides;
        synth.seed = 2026;
        const auto x = o.size.find('x');
        synth.width = std::stoll(o.size.substr(0, x));
        synth.height = std::stoll(o.size.substr(x + 1));
        const project::SyntheticDatasetResult dataset = project::SyntheticDataset(synth).generate();
        const int maskDownsample = slide::SyntheticSlideConfig{}.maskDownsample;

        project::IcmilLoopConfig c;
        c.projectRoot = o.dir / "project";
        c.slides = synth.outputDir;
        c.iterations = o.iterations;
        c.device = o.device;
        c.embedder.name = "tiny-cnn";
        c.extraction.tiling.tissue = slide::TissueDetectionParams::preset("bwh_biopsy");
        c.model.type = engine::parseMilModelType(o.model);
        c.trainer.epochs = o.epochs;
        c.trainer.learningRate = o.lr;
        c.split.valFraction = 0.25;
        c.split.testFraction = 0.25;
        c.fineTuning.epochs = o.finetuneEpochs;
        c.fineTuning.patchesPerEpoch = o.finetunePatches;
        c.fineTuning.distillation.learningRate = o.finetuneLr;
        c.fineTuning.distillation.freezeBatchNorm = !o.bnTrain;
        c.fineTuning.distillation.confidenceWeighted = o.confidence;
        c.overwrite = true;
        project::IcmilLoopEvents events;
        events.iterationFinished = [](const project::IterationSummary &it) {
            std::cout << "iteration " << it.iteration << " done in " << std::fixed << std::setprecision(1) << it.seconds() << " s" << std::endl;
        };
        const project::IcmilLoopResult result = project::IcmilLoop(c).run(events);

        const project::ProjectLayout layout(c.projectRoot);
        std::cout << "\nSynthetic dataset: " << o.slides << " slides of " << o.size << "; split " << result.splitDescription << "; "
                  << o.model << ", " << o.epochs << " classifier epochs; fine-tuning " << o.finetuneEpochs << " x " << o.finetunePatches
                  << " patches, lr " << std::defaultfloat << o.finetuneLr << (o.bnTrain ? ", batch norm trained" : ", batch norm frozen")
                  << (o.confidence ? ", confidence-weighted" : "") << "; device " << result.device << "\n\n";
        std::cout << " it  val AUC  test AUC  top10% in tumour (ceiling)  patch AUC  fine-tune patches/s  fine-tune s  extract s  train s  wall s\n";
        std::ostringstream json;
        json << "{\"slides\":" << o.slides << ",\"device\":\"" << result.device << "\",\"iterations\":[";
        for (const project::IterationSummary &it : result.iterations) {
            const Localisation loc = localise(layout, it.encoder, dataset, maskDownsample);
            const std::optional<double> valAuc = it.val ? it.val->auc : std::nullopt;
            const std::optional<double> testAuc = it.test ? it.test->auc : std::nullopt;
            std::cout << std::setw(3) << it.iteration << std::setw(9) << number(valAuc) << std::setw(10) << number(testAuc) << std::setw(13)
                      << number(loc.topFraction) << " (" << number(loc.ceiling) << ")" << std::setw(18) << number(loc.patchAuc)
                      << std::setw(21) << (it.iteration > 0 ? number(it.fineTunePatchesPerSecond, 1) : "-") << std::setw(13)
                      << number(it.fineTuneSeconds, 1) << std::setw(11) << number(it.extractSeconds, 1) << std::setw(9)
                      << number(it.trainSeconds, 1) << std::setw(8) << number(it.seconds(), 1) << "\n";
            json << (it.iteration > 0 ? "," : "") << "{\"iteration\":" << it.iteration << ",\"val_auc\":" << (valAuc ? number(valAuc, 6) : "null")
                 << ",\"test_auc\":" << (testAuc ? number(testAuc, 6) : "null") << ",\"top10_in_tumour\":" << loc.topFraction << ",\"top10_ceiling\":" << loc.ceiling
                 << ",\"patch_auc\":" << loc.patchAuc << ",\"tumour_slides\":" << loc.slides
                 << ",\"finetune_patches_per_second\":" << it.fineTunePatchesPerSecond << ",\"finetune_seconds\":" << it.fineTuneSeconds
                 << ",\"extract_seconds\":" << it.extractSeconds << ",\"train_seconds\":" << it.trainSeconds << "}";
        }
        json << "]}\n";
        if (!o.json.empty())
            std::ofstream(o.json) << json.str();
        return 0;
    } catch (const std::exception &error) {
        std::cerr << "icmil-loop-bench: " << error.what() << "\n";
        return 1;
    }
}
