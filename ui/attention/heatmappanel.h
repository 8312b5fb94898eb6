// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/attentionheatmap.h"

#include <QWidget>

#include <cstdint>
#include <memory>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSlider;

namespace icmil::slide {
class SlideSource;
}
namespace icmil::project {
struct SlideAttention;
}

namespace icmil::ui {

class AttentionGallery;
class HeatmapLayer;

enum class HeatmapMap {
    Attention,     // where the bag classifier looked (its attention, or MaxPool's share)
    InstanceScore, // ICMIL's instance view: the instance head's probability of the last class per patch
};

// The heatmap's controls for the slide in view: which map (attention, or the instance view when
// the attention file has instance scores; without them the choice is disabled and says why),
// show/hide, colormap (viridis, turbo, jet, coolwarm), opacity, normalisation (min-max or
// percentile rank; instance scores are probabilities and are shown as they are), optional
// threshold, legend; under them the gallery of the map's top-k patches. Changing a setting
// recomputes the heatmap's cells once (AttentionHeatmap::withSettings), never per frame.
class HeatmapPanel : public QWidget {
    Q_OBJECT
public:
    static constexpr std::size_t kGalleryPatches = 16;

    // A slide's maps as setMaps takes them, built off the GUI thread from its attention file: the
    // attention by its raw scores; the instance view by the last class's probabilities, named
    // "Instance score (<class>)" (null when the file has none). Throws std::invalid_argument as
    // AttentionHeatmap does.
    struct Maps {
        std::shared_ptr<const AttentionHeatmap> attention;
        std::shared_ptr<const AttentionHeatmap> instance;
    };
    static Maps mapsOf(const project::SlideAttention &slide, std::int64_t patchSizeLevel0, const HeatmapSettings &settings);

    HeatmapPanel(HeatmapLayer *layer, QWidget *parent = nullptr);

    // The shown slide's maps (nullptr: none) and the slide the gallery reads its pictures from:
    // the layer shows the chosen map with the panel's settings, the gallery its top patches.
    void setMaps(std::shared_ptr<const AttentionHeatmap> attention, std::shared_ptr<const AttentionHeatmap> instance,
                 std::shared_ptr<const slide::SlideSource> slide);
    HeatmapMap map() const;
    bool hasInstanceMap() const { return m_instance != nullptr; }
    // The status bar's words for the patch under the mouse: "Attention 0.873 (raw 2.14), patch at
    // x 512, y 768" or "Instance score (tumor) 0.912, patch at x 512, y 768".
    static QString readout(const AttentionHeatmap &heatmap, const AttentionHeatmap::Hit &hit);
    static bool isReadout(const QString &message);

    AttentionGallery *gallery() const { return m_gallery; }
    HeatmapSettings settings() const;
    void setStatus(const QString &text); // e.g. "run icmil-it2: 812 patches" or why there is none
    QString status() const;
    // Test hooks: the same as the user changing the controls.
    void setColormapName(const QString &name);
    void setOpacityPercent(int percent);
    void setThreshold(std::optional<double> threshold);
    void setNormalisationIndex(int index); // 0 percentile rank, 1 min-max
    void setMap(HeatmapMap map);           // the instance view only when there is one

Q_SIGNALS:
    void settingsChanged();

private:
    void apply();
    void onMapChosen();
    void fillGallery();

    HeatmapLayer *m_layer;
    std::shared_ptr<const AttentionHeatmap> m_attention;
    std::shared_ptr<const AttentionHeatmap> m_instance;
    std::shared_ptr<const slide::SlideSource> m_slide;
    QComboBox *m_map = nullptr;
    QCheckBox *m_visible = nullptr;
    QComboBox *m_colormap = nullptr;
    QComboBox *m_normalisation = nullptr;
    QSlider *m_opacity = nullptr;
    QCheckBox *m_thresholdOn = nullptr;
    QDoubleSpinBox *m_threshold = nullptr;
    QCheckBox *m_legend = nullptr;
    QLabel *m_status = nullptr;
    QLabel *m_galleryTitle = nullptr;
    AttentionGallery *m_gallery = nullptr;
};

} // namespace icmil::ui
