// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/attention/heatmappanel.h"

#include "ui/attention/attentiongallery.h"
#include "ui/shell/preferences.h"
#include "ui/viewer/attentionheatmap.h"
#include "ui/viewer/heatmaplayer.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSettings>
#include <QSlider>
#include <QVBoxLayout>

namespace icmil::ui {

namespace {
const QString kOpacityKey = QStringLiteral("heatmap/opacityPercent");
} // namespace

HeatmapPanel::HeatmapPanel(HeatmapLayer *layer, QWidget *parent) : QWidget(parent), m_layer(layer)
{
    const QSettings stored;
    m_visible = new QCheckBox(tr("Show attention heatmap"), this);
    m_visible->setChecked(layer->isVisible());
    m_colormap = new QComboBox(this);
    m_colormap->addItems(Colormap::names());
    m_colormap->setCurrentText(Preferences::load().colormap);
    m_normalisation = new QComboBox(this);
    m_normalisation->addItem(tr("Percentile rank (CLAM)"));
    m_normalisation->addItem(tr("Min-max"));
    m_opacity = new QSlider(Qt::Horizontal, this);
    m_opacity->setRange(0, 100);
    m_opacity->setValue(stored.value(kOpacityKey, 60).toInt());
    m_thresholdOn = new QCheckBox(tr("Hide below"), this);
    m_threshold = new QDoubleSpinBox(this);
    m_threshold->setRange(0.0, 1.0);
    m_threshold->setSingleStep(0.05);
    m_threshold->setValue(0.5);
    m_threshold->setEnabled(false);
    m_legend = new QCheckBox(tr("Legend"), this);
    m_legend->setChecked(layer->isLegendVisible());
    m_status = new QLabel(tr("Open a project slide that has been predicted."), this);
    m_status->setWordWrap(true);
    m_gallery = new AttentionGallery(this);

    auto *threshold = new QHBoxLayout;
    threshold->addWidget(m_thresholdOn);
    threshold->addWidget(m_threshold, 1);
    auto *form = new QFormLayout;
    form->addRow(m_visible);
    form->addRow(tr("Colours:"), m_colormap);
    form->addRow(tr("Normalise:"), m_normalisation);
    form->addRow(tr("Opacity:"), m_opacity);
    form->addRow(tr("Threshold:"), threshold);
    form->addRow(m_legend);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(form);
    layout->addWidget(m_status);
    layout->addWidget(new QLabel(tr("Most attended patches (click to go there):"), this));
    layout->addWidget(m_gallery, 1);

    connect(m_visible, &QCheckBox::toggled, m_layer, &HeatmapLayer::setVisible);
    connect(m_legend, &QCheckBox::toggled, m_layer, &HeatmapLayer::setLegendVisible);
    connect(m_opacity, &QSlider::valueChanged, this, [this](int value) {
        m_layer->setOpacity(value / 100.0); // a premultiplied copy once; no recomputation
        QSettings().setValue(kOpacityKey, value);
    });
    connect(m_colormap, &QComboBox::currentTextChanged, this, [this](const QString &name) {
        Preferences preferences = Preferences::load(); // the last colours chosen become the default
        preferences.colormap = name;
        preferences.save();
        apply();
    });
    connect(m_normalisation, &QComboBox::currentIndexChanged, this, &HeatmapPanel::apply);
    connect(m_thresholdOn, &QCheckBox::toggled, m_threshold, &QWidget::setEnabled);
    connect(m_thresholdOn, &QCheckBox::toggled, this, &HeatmapPanel::apply);
    connect(m_threshold, &QDoubleSpinBox::valueChanged, this, &HeatmapPanel::apply);
    m_layer->setOpacity(m_opacity->value() / 100.0);
}

HeatmapSettings HeatmapPanel::settings() const
{
    HeatmapSettings settings;
    settings.normalisation = m_normalisation->currentIndex() == 1 ? HeatmapNormalisation::MinMax : HeatmapNormalisation::PercentileRank;
    if (m_thresholdOn->isChecked())
        settings.threshold = m_threshold->value();
    settings.colormap = Colormap::fromName(m_colormap->currentText());
    return settings;
}

void HeatmapPanel::apply()
{
    if (const std::shared_ptr<const AttentionHeatmap> &heatmap = m_layer->heatmap())
        m_layer->setHeatmap(heatmap->withSettings(settings()));
    Q_EMIT settingsChanged();
}

QString HeatmapPanel::status() const
{
    return m_status->text();
}

void HeatmapPanel::setStatus(const QString &text)
{
    m_status->setText(text);
}

void HeatmapPanel::setColormapName(const QString &name)
{
    m_colormap->setCurrentText(name);
}

void HeatmapPanel::setOpacityPercent(int percent)
{
    m_opacity->setValue(percent);
}

void HeatmapPanel::setThreshold(std::optional<double> threshold)
{
    if (threshold)
        m_threshold->setValue(*threshold);
    m_thresholdOn->setChecked(threshold.has_value());
}

void HeatmapPanel::setNormalisationIndex(int index)
{
    m_normalisation->setCurrentIndex(index);
}

} // namespace icmil::ui
