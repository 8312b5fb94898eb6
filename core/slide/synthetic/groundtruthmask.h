// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <opencv2/core/mat.hpp>

namespace icmil::slide {

class TissuePhantom;

// The ground truth of a phantom on a coarse grid: each mask pixel covers downsample x downsample
// level-0 pixels and holds 255 when the exact tumour field at the block centre is inside a tumour.
// Tissue and tumour fractions are counted on the same grid.
class GroundTruthMask {
public:
    GroundTruthMask(const TissuePhantom &phantom, int downsample, int threads);

    const cv::Mat &tumourMask() const { return m_mask; }       // CV_8UC1, ceil(size / downsample)
    double tissueFraction() const { return m_tissueFraction; } // of the slide area
    double tumourFraction() const { return m_tumourFraction; } // of the tissue area
    // Lymphoid aggregates (tumour mimics) in tissue and outside tumour, on the same grid.
    const cv::Mat &mimicMask() const { return m_mimicMask; }
    double mimicFraction() const { return m_mimicFraction; } // of the tissue area

private:
    cv::Mat m_mask;
    double m_tissueFraction = 0.0;
    double m_tumourFraction = 0.0;
    cv::Mat m_mimicMask;
    double m_mimicFraction = 0.0;
};

} // namespace icmil::slide
