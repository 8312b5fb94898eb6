// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace icmil::slide {

class SlideSource;
class TissueMap;

enum class PatchGridMode {
    Magnification, // patches at a target objective power (the slide knows its magnification)
    Level,         // patches at a pyramid level (slides without microns-per-pixel or objective power)
};

struct PatchGridParams {
    int patchSize = 256;                              // edge of the patches handed to the model (pixels)
    std::optional<double> targetMagnification = 20.0; // magnification mode when set and the slide has a magnification
    int level = 0;                                    // level mode: patches are patchSize pixels of this level
    double overlap = 0.0;                             // 0 <= overlap < 1, fraction of a patch shared by neighbours
    int step = 0;                                     // > 0: step between patches in output pixels (overrides overlap)
    // Keep a patch when at least this fraction of its level-0 square is tissue. 0.25 mirrors CLAM's
    // "four_pt" check, which keeps a patch when one of the points at 1/4 and 3/4 of its width and
    // height lies in tissue: along a straight tissue edge that is 25% tissue.
    double minTissueFraction = 0.25;
};

struct PatchCoord {
    std::int64_t x = 0; // level-0 top-left corner
    std::int64_t y = 0;
    friend bool operator==(const PatchCoord &, const PatchCoord &) = default;
};

// The patches of one slide: level-0 top-left corners on a lattice (multiples of level0Step),
// row-major, each patch wholly inside the slide, with the recipe to read them: readSize x readSize
// pixels of readLevel at the corner, resized to patchSize x patchSize.
struct PatchGrid {
    PatchGridMode mode = PatchGridMode::Level;
    std::vector<PatchCoord> coords;
    int patchSize = 256; // output pixels
    int readLevel = 0;
    int readSize = 256;                        // pixels read at readLevel (round(level0 extent / level downsample))
    std::int64_t level0PatchSize = 256;        // level-0 pixels a patch covers (rounded)
    std::int64_t level0Step = 256;             // level-0 pixels between neighbouring patches
    std::optional<double> targetMagnification; // magnification mode only
    std::optional<double> level0Magnification; // when the slide has one
    int patchLevel = 0;                        // CLAM's "patch_level" h5 attribute (CLAM's "patch_size" is readSize)
    std::int64_t columns = 0;                  // lattice positions across and down that fit in the slide
    std::int64_t rows = 0;

    // Throws SlideError: invalid parameters, a level that does not exist, a target magnification
    // above the slide's ("Cannot make patches at 40x from '<file>': the slide's highest
    // magnification is 20x and patches are never upsampled"), or a tissue map of another size.
    // `tissue` may be null: every lattice position is kept.
    static PatchGrid build(const SlideSource &slide, const TissueMap *tissue, const PatchGridParams &params);

    // Level-0 magnification: the objective power when the slide records one, else 10 / mpp-x
    // (10x at 1 um/px); nothing when it records neither.
    static std::optional<double> slideMagnification(const SlideSource &slide);
};

} // namespace icmil::slide
