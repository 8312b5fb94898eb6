// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/training/attentionstore.h"

#include "project/features/hdf5atomicwrite.h"
#include "project/features/hdf5error.h"
#include "project/projecterror.h"

#include <new>
#include <stdexcept>

namespace icmil::project {

namespace {

std::string joined(const std::vector<std::string> &names)
{
    std::string text;
    for (const std::string &name : names)
        text += (text.empty() ? "" : ";") + name;
    return text;
}

std::vector<std::string> splitNames(const std::string &text)
{
    std::vector<std::string> names;
    if (text.empty())
        return names;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = text.find(';', start);
        names.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos)
            return names;
        start = end + 1;
    }
}

} // namespace

std::vector<float> instanceScoresOfClass(const SlideAttention &slide, std::size_t classIndex)
{
    const std::size_t n = slide.coords.size();
    const std::size_t classes = slide.probabilities.size();
    if (classIndex >= classes || slide.instanceScores.empty() || slide.instanceScores.size() != n * classes)
        return {};
    std::vector<float> column(n);
    for (std::size_t i = 0; i < n; ++i)
        column[i] = slide.instanceScores[i * classes + classIndex];
    return column;
}

void writeAttentionFile(const std::filesystem::path &path, const SlideAttention &slide)
{
    const std::string prefix = "Cannot write attention to '" + path.string() + "': ";
    const std::size_t n = slide.coords.size();
    if (slide.attention.size() != n || slide.attentionRaw.size() != n)
        throw ProjectError(prefix + "there are " + std::to_string(slide.attention.size()) + " attention values for " + std::to_string(n)
                           + " patches");
    const std::size_t classes = slide.probabilities.size();
    if (!slide.instanceScores.empty() && slide.instanceScores.size() != n * classes)
        throw ProjectError(prefix + "there are " + std::to_string(slide.instanceScores.size()) + " instance scores for " + std::to_string(n)
                           + " patches of " + std::to_string(classes) + " classes");
    try {
        writeHdf5Atomically(path, n * (24 + 4 * classes) + 64, [&](Hdf5File &file) {
            const std::int64_t count = static_cast<std::int64_t>(n);
            const std::vector<std::int64_t> flat = flattenCoords(slide.coords);
            file.writeIntegers("coords", {count, 2}, flat.data());
            file.writeFloats("attention", {count}, slide.attention.data());
            file.writeFloats("attention_raw", {count}, slide.attentionRaw.data());
            const std::vector<float> probabilities(slide.probabilities.begin(), slide.probabilities.end());
            file.writeFloats("probabilities", {static_cast<std::int64_t>(probabilities.size())}, probabilities.data());
            if (!slide.instanceScores.empty())
                file.writeFloats("instance_scores", {count, static_cast<std::int64_t>(classes)}, slide.instanceScores.data());
            file.setStringAttribute("/", "slide_id", slide.slideId);
            file.setStringAttribute("/", "model_type", slide.modelType);
            file.setStringAttribute("/", "run", slide.run);
            file.setStringAttribute("/", "encoder", slide.encoder);
            file.setStringAttribute("/", "class_names", joined(slide.classNames));
            file.setIntegerAttribute("/", "predicted", slide.predicted);
            if (slide.patchSizeLevel0)
                file.setIntegerAttribute("/", "patch_size_level0", *slide.patchSizeLevel0);
        });
    } catch (const std::runtime_error &e) { // Hdf5Error, or PartialFile's cause
        throw ProjectError(prefix + e.what());
    }
}

SlideAttention readAttentionFile(const std::filesystem::path &path)
{
    const std::string prefix = "Cannot read attention from '" + path.string() + "': ";
    try {
        const Hdf5File file = Hdf5File::openReadOnly(path);
        for (const char *name : {"coords", "attention", "attention_raw", "probabilities"})
            if (!file.hasDataset(name))
                throw ProjectError(prefix + "no dataset '" + name + "'");
        SlideAttention slide;
        slide.coords = coordPairs(file.readIntegers("coords"));
        slide.attention = file.readFloats("attention");
        slide.attentionRaw = file.readFloats("attention_raw");
        const std::vector<float> probabilities = file.readFloats("probabilities");
        slide.probabilities.assign(probabilities.begin(), probabilities.end());
        if (slide.attention.size() != slide.coords.size() || slide.attentionRaw.size() != slide.coords.size())
            throw ProjectError(prefix + "its attention and coordinates disagree in length");
        if (file.hasDataset("instance_scores")) {
            const std::vector<std::int64_t> expected{static_cast<std::int64_t>(slide.coords.size()),
                                                     static_cast<std::int64_t>(slide.probabilities.size())};
            if (file.shape("instance_scores") != expected)
                throw ProjectError(prefix + "its instance scores disagree with its coordinates and classes in size");
            slide.instanceScores = file.readFloats("instance_scores");
        }
        slide.slideId = file.stringAttribute("/", "slide_id").value_or(path.stem().string());
        slide.modelType = file.stringAttribute("/", "model_type").value_or("");
        slide.run = file.stringAttribute("/", "run").value_or("");
        slide.encoder = file.stringAttribute("/", "encoder").value_or("");
        slide.classNames = splitNames(file.stringAttribute("/", "class_names").value_or(""));
        if (const auto predicted = file.numberAttribute("/", "predicted"); predicted && !predicted->empty())
            slide.predicted = static_cast<int>((*predicted)[0]);
        if (const auto size = file.numberAttribute("/", "patch_size_level0"); size && !size->empty())
            slide.patchSizeLevel0 = static_cast<std::int64_t>((*size)[0]);
        return slide;
    } catch (const Hdf5Error &e) {
        throw ProjectError(prefix + e.what());
    } catch (const std::bad_alloc &) {
        throw ProjectError(prefix + "there is not enough memory to load it");
    }
}

} // namespace icmil::project
