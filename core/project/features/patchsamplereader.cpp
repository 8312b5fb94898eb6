// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/patchsamplereader.h"

#include "engine/embedders/patchinput.h"
#include "slide/io/slidesource.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace icmil::project {

PatchSampleReader::PatchSampleReader(std::vector<SampledSlide> slides, std::vector<PatchSample> samples, int inputSize, Options options)
    : m_slides(std::move(slides)), m_samples(std::move(samples)), m_inputSize(inputSize), m_options(options)
{
    m_options.batchSize = std::max(1, m_options.batchSize);
    const auto count = static_cast<std::int64_t>(m_samples.size());
    std::int64_t batches = (count + m_options.batchSize - 1) / m_options.batchSize;
    if (!m_options.batchEnds.empty()) {
        if (m_options.batchEnds.back() != count || !std::is_sorted(m_options.batchEnds.begin(), m_options.batchEnds.end())
            || m_options.batchEnds.front() < 0)
            throw std::invalid_argument("PatchSampleReader: batch ends must rise to the number of samples");
        batches = static_cast<std::int64_t>(m_options.batchEnds.size());
    }
    m_prefetcher = std::make_unique<OrderedPrefetcher<Batch>>(
        batches, m_options.threads, m_options.batchesAhead,
        [this](std::int64_t index, const std::atomic_bool &stopping) { return readBatch(index, stopping); });
}

PatchSampleReader::~PatchSampleReader() = default;

PatchSampleReader::Batch PatchSampleReader::readBatch(std::int64_t index, const std::atomic_bool &stopping) const
{
    std::int64_t first = index * m_options.batchSize;
    std::int64_t count = std::min<std::int64_t>(m_options.batchSize, static_cast<std::int64_t>(m_samples.size()) - first);
    if (!m_options.batchEnds.empty()) {
        first = index == 0 ? 0 : m_options.batchEnds[static_cast<std::size_t>(index - 1)];
        count = m_options.batchEnds[static_cast<std::size_t>(index)] - first;
    }
    Batch batch;
    batch.first = first;
    batch.patches = torch::zeros({count, 3, m_inputSize, m_inputSize});
    batch.slides = torch::empty({count}, torch::kLong);
    auto slideOf = batch.slides.accessor<std::int64_t, 1>();
    torch::Tensor pixels;
    for (std::int64_t i = 0; i < count && !stopping; ++i) {
        const PatchSample &sample = m_samples[static_cast<std::size_t>(first + i)];
        const SampledSlide &slide = m_slides.at(static_cast<std::size_t>(sample.slide));
        slideOf[i] = sample.slide;
        if (!pixels.defined() || pixels.size(1) != slide.readSize)
            pixels = torch::empty({1, slide.readSize, slide.readSize, 4}, torch::kUInt8);
        slide.source->readRegionArgb(slide.readLevel, sample.coord.x, sample.coord.y, slide.readSize, slide.readSize,
                                     reinterpret_cast<std::uint32_t *>(pixels.data_ptr<std::uint8_t>()));
        batch.patches[i].copy_(engine::patchesToModelInput(pixels, m_inputSize, torch::kCPU)[0]);
    }
    return batch;
}

} // namespace icmil::project
