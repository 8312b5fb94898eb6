// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSlider;

namespace icmil::ui {

class AttentionGallery;
class HeatmapLayer;
struct HeatmapSettings;

// The attention heatmap's controls for the slide in view: show/hide, colormap (viridis, turbo,
// jet, coolwarm), opacity, normalisation (min-max or percentile rank), optional threshold,
// legend; under them the gallery of the top-k attention patches. Changing a setting recomputes
// the heatmap's cells once (AttentionHeatmap::withSettings), never per frame.
class HeatmapPanel : public QWidget {
    Q_OBJECT
public:
    HeatmapPanel(HeatmapLayer *layer, QWidget *parent = nullptr);

    AttentionGallery *gallery() const { return m_gallery; }
    HeatmapSettings settings() const;
    void setStatus(const QString &text); // e.g. "run icmil-it2: 812 patches" or why there is none
    QString status() const;
    // Test hooks: the same as the user changing the controls.
    void setColormapName(const QString &name);
    void setOpacityPercent(int percent);
    void setThreshold(std::optional<double> threshold);
    void setNormalisationIndex(int index); // 0 percentile rank, 1 min-max

Q_SIGNALS:
    void settingsChanged();

private:
    void apply();

    HeatmapLayer *m_layer;
    QCheckBox *m_visible = nullptr;
    QComboBox *m_colormap = nullptr;
    QComboBox *m_normalisation = nullptr;
    QSlider *m_opacity = nullptr;
    QCheckBox *m_thresholdOn = nullptr;
    QDoubleSpinBox *m_threshold = nullptr;
    QCheckBox *m_legend = nullptr;
    QLabel *m_status = nullptr;
    AttentionGallery *m_gallery = nullptr;
};

} // namespace icmil::ui
