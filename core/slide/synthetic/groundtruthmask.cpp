// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/groundtruthmask.h"

#include "slide/synthetic/tissuephantom.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace icmil::slide {

GroundTruthMask::GroundTruthMask(const TissuePhantom &phantom, int downsample, int threads)
{
    const int width = static_cast<int>((phantom.width() + downsample - 1) / downsample);
    const int height = static_cast<int>((phantom.height() + downsample - 1) / downsample);
    m_mask = cv::Mat(height, width, CV_8UC1, cv::Scalar(0));
    std::vector<std::int64_t> tissueRows(static_cast<std::size_t>(height), 0);
    std::vector<std::int64_t> tumourRows(static_cast<std::size_t>(height), 0);
    std::vector<std::int64_t> mimicRows(static_cast<std::size_t>(height), 0);
    m_mimicMask = cv::Mat(height, width, CV_8UC1, cv::Scalar(0));

    // Chunks of kChunk x kChunk mask pixels, each with its own short list of nearby objects.
    constexpr int kChunk = 32;
    const int chunksAcross = (width + kChunk - 1) / kChunk;
    const int chunksDown = (height + kChunk - 1) / kChunk;
    std::atomic<int> nextChunkRow{0};
    auto work = [&] {
        PhantomObjectSet objects;
        for (int chunkRow = nextChunkRow++; chunkRow < chunksDown; chunkRow = nextChunkRow++) {
            const int rowEnd = std::min(height, (chunkRow + 1) * kChunk);
            for (int chunkColumn = 0; chunkColumn < chunksAcross; ++chunkColumn) {
                const int columnEnd = std::min(width, (chunkColumn + 1) * kChunk);
                auto centre = [downsample](int index) { return (index + 0.5) * downsample; };
                phantom.collectObjects(centre(chunkColumn * kChunk), centre(chunkRow * kChunk), centre(columnEnd - 1), centre(rowEnd - 1),
                                       objects);
                for (int y = chunkRow * kChunk; y < rowEnd; ++y) {
                    auto *mask = m_mask.ptr<std::uint8_t>(y);
                    auto *mimicMask = m_mimicMask.ptr<std::uint8_t>(y);
                    for (int x = chunkColumn * kChunk; x < columnEnd; ++x) {
                        const PhantomFields fields = TissuePhantom::fieldsAt(objects, centre(x), centre(y));
                        if (fields.tissue > 0.0f)
                            ++tissueRows[static_cast<std::size_t>(y)];
                        if (fields.tumour > 0.0f) {
                            mask[x] = 255;
                            ++tumourRows[static_cast<std::size_t>(y)];
                        } else if (fields.mimic > 0.0f && fields.tissue > 0.0f) {
                            mimicMask[x] = 255;
                            ++mimicRows[static_cast<std::size_t>(y)];
                        }
                    }
                }
            }
        }
    };
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t)
        workers.emplace_back(work);
    work();
    for (std::thread &worker : workers)
        worker.join();

    std::int64_t tissue = 0;
    std::int64_t tumour = 0;
    std::int64_t mimic = 0;
    for (int y = 0; y < height; ++y) {
        tissue += tissueRows[static_cast<std::size_t>(y)];
        tumour += tumourRows[static_cast<std::size_t>(y)];
        mimic += mimicRows[static_cast<std::size_t>(y)];
    }
    m_mimicFraction = tissue > 0 ? static_cast<double>(mimic) / static_cast<double>(tissue) : 0.0;
    m_tissueFraction = static_cast<double>(tissue) / (static_cast<double>(width) * height);
    m_tumourFraction = tissue > 0 ? static_cast<double>(tumour) / static_cast<double>(tissue) : 0.0;
}

} // namespace icmil::slide
