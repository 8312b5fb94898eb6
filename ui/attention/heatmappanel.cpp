// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/attention/heatmappanel.h"

#include "ui/attention/attentiongallery.h"
#include "ui/shell/preferences.h"
#include "ui/viewer/attentionheatmap.h"
#include "ui/viewer/heatmaplayer.h"

#include "project/training/attentionstore.h"

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

HeatmapPanel::Maps HeatmapPanel::mapsOf(const project::SlideAttention &slide, std::int64_t patchSizeLevel0, const HeatmapSettings &settings)
{
    const std::vector<AttentionHeatmap::Coord> coords(slide.coords.begin(), slide.coords.end());
    Maps maps;
    maps.attention = std::make_shared<const AttentionHeatmap>(coords, patchSizeLevel0,
                                                              slide.attentionRaw.empty() ? slide.attention : slide.attentionRaw, settings);
    const std::size_t classes = slide.probabilities.size();
    std::vector<float> instance = classes == 0 ? std::vector<float>() : project::instanceScoresOfClass(slide, classes - 1);
    if (!instance.empty()) {
        const QString name
            = slide.classNames.size() == classes ? QString::fromStdString(slide.classNames.back()) : QString::number(classes - 1);
        HeatmapSettings probability = settings;
        probability.normalisation = HeatmapNormalisation::Probability;
        maps.instance = std::make_shared<const AttentionHeatmap>(coords, patchSizeLevel0, std::move(instance), probability,
                                                                 tr("Instance score (%1)").arg(name));
    }
    return maps;
}

HeatmapPanel::HeatmapPanel(HeatmapLayer *layer, QWidget *parent) : QWidget(parent), m_layer(layer)
{
    const QSettings stored;
    m_map = new QComboBox(this);
    m_map->setObjectName(QStringLiteral("heatmapMap"));
    m_map->addItem(tr("Attention"));
    m_map->addItem(tr("Instance score"));
    m_map->setEnabled(false);
    m_visible = new QCheckBox(tr("Show heatmap"), this);
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
    m_galleryTitle = new QLabel(this);
    m_gallery = new AttentionGallery(this);

    auto *threshold = new QHBoxLayout;
    threshold->addWidget(m_thresholdOn);
    threshold->addWidget(m_threshold, 1);
    auto *form = new QFormLayout;
    form->addRow(tr("Map:"), m_map);
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
    layout->addWidget(m_galleryTitle);
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
    connect(m_map, &QComboBox::currentIndexChanged, this, &HeatmapPanel::onMapChosen);
    connect(m_thresholdOn, &QCheckBox::toggled, m_threshold, &QWidget::setEnabled);
    connect(m_thresholdOn, &QCheckBox::toggled, this, &HeatmapPanel::apply);
    connect(m_threshold, &QDoubleSpinBox::valueChanged, this, &HeatmapPanel::apply);
    m_layer->setOpacity(m_opacity->value() / 100.0);
    setMaps(nullptr, nullptr, nullptr);
}

void HeatmapPanel::setMaps(std::shared_ptr<const AttentionHeatmap> attention, std::shared_ptr<const AttentionHeatmap> instance,
                           std::shared_ptr<const slide::SlideSource> slide)
{
    m_attention = std::move(attention);
    m_instance = std::move(instance);
    m_slide = std::move(slide);
    m_map->setEnabled(m_instance != nullptr);
    m_map->setToolTip(m_instance ? tr("Attention: where the slide's classifier looked. %1: its instance head on each patch alone, "
                                      "as a probability (ICMIL's instance view).")
                                       .arg(m_instance->scoreName())
                          : m_attention ? tr("This attention file has no instance scores: predict the slides again to add them.")
                                        : QString());
    if (!m_instance && m_map->currentIndex() != 0)
        m_map->setCurrentIndex(0); // onMapChosen applies
    else
        onMapChosen();
}

HeatmapMap HeatmapPanel::map() const
{
    return m_map->currentIndex() == 1 && m_instance ? HeatmapMap::InstanceScore : HeatmapMap::Attention;
}

void HeatmapPanel::setMap(HeatmapMap map)
{
    if (map == HeatmapMap::Attention || m_instance)
        m_map->setCurrentIndex(map == HeatmapMap::InstanceScore ? 1 : 0);
}

void HeatmapPanel::onMapChosen()
{
    const bool instance = map() == HeatmapMap::InstanceScore;
    m_normalisation->setEnabled(!instance);
    m_normalisation->setToolTip(instance ? tr("Instance scores are probabilities: they are shown as they are, 0 to 1.") : QString());
    m_visible->setText(instance ? tr("Show instance score heatmap") : tr("Show attention heatmap"));
    m_galleryTitle->setText(instance ? tr("Highest instance scores (click to go there):")
                                     : tr("Most attended patches (click to go there):"));
    apply();
    fillGallery();
}

void HeatmapPanel::fillGallery()
{
    std::vector<AttentionGallery::Patch> patches;
    if (const std::shared_ptr<const AttentionHeatmap> &heatmap = m_layer->heatmap()) {
        for (const std::size_t index : heatmap->topK(kGalleryPatches))
            patches.push_back({heatmap->patchRect(index), heatmap->scores()[index], heatmap->rawScores()[index]});
    }
    m_gallery->setPatches(patches.empty() ? nullptr : m_slide, std::move(patches));
}

QString HeatmapPanel::readout(const AttentionHeatmap &heatmap, const AttentionHeatmap::Hit &hit)
{
    const QString where = tr(", patch at x %1, y %2").arg(static_cast<qint64>(hit.rect.x())).arg(static_cast<qint64>(hit.rect.y()));
    if (heatmap.settings().normalisation == HeatmapNormalisation::Probability)
        return QStringLiteral("%1 %2").arg(heatmap.scoreName()).arg(hit.score, 0, 'f', 3) + where;
    return tr("%1 %2 (raw %3)").arg(heatmap.scoreName()).arg(hit.score, 0, 'f', 3).arg(static_cast<double>(hit.raw), 0, 'g', 4) + where;
}

bool HeatmapPanel::isReadout(const QString &message)
{
    return message.startsWith(tr("Attention ")) || message.startsWith(tr("Instance score ("));
}

HeatmapSettings HeatmapPanel::settings() const
{
    HeatmapSettings settings;
    settings.normalisation = m_normalisation->currentIndex() == 1 ? HeatmapNormalisation::MinMax : HeatmapNormalisation::PercentileRank;
    if (map() == HeatmapMap::InstanceScore)
        settings.normalisation = HeatmapNormalisation::Probability;
    if (m_thresholdOn->isChecked())
        settings.threshold = m_threshold->value();
    settings.colormap = Colormap::fromName(m_colormap->currentText());
    return settings;
}

void HeatmapPanel::apply()
{
    const std::shared_ptr<const AttentionHeatmap> &chosen = map() == HeatmapMap::InstanceScore ? m_instance : m_attention;
    m_layer->setHeatmap(chosen ? chosen->withSettings(settings()) : nullptr);
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
