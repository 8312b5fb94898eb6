// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/training/tissuepreview.h"

#include "ui/viewer/contourlayer.h"

#include "slide/io/slidesource.h"
#include "slide/tissue/patchgrid.h"
#include "slide/tissue/tissuedetector.h"

#include <QtConcurrent>

#include <cmath>
#include <exception>
#include <utility>

namespace icmil::ui {

namespace {

QPolygonF toPolygon(const slide::TissueRing &ring)
{
    QPolygonF polygon;
    polygon.reserve(static_cast<qsizetype>(ring.size()));
    for (const auto &[x, y] : ring)
        polygon << QPointF(x, y);
    return polygon;
}

} // namespace

TissuePreview::TissuePreview(ContourLayer *layer, QObject *parent) : QObject(parent), m_layer(layer)
{
    m_layer->setVisible(false);
    connect(&m_watcher, &QFutureWatcher<Result>::finished, this, &TissuePreview::onFinished);
}

TissuePreview::~TissuePreview()
{
    m_watcher.waitForFinished(); // the computation holds the slide; let it end before we go
}

TissuePreview::Result TissuePreview::compute(const slide::SlideSource &slide, const project::TilingConfig &tiling)
{
    Result result;
    try {
        const slide::TissueMap map = slide::TissueDetector(tiling.tissue).detect(slide);
        const slide::PatchGrid grid = slide::PatchGrid::build(slide, &map, tiling.grid);
        for (const slide::TissueRegion &region : map.regions()) {
            std::vector<QPolygonF> rings{toPolygon(region.outer)};
            for (const slide::TissueRing &hole : region.holes)
                rings.push_back(toPolygon(hole));
            result.polygons.push_back(std::move(rings));
        }
        if (grid.coords.empty()) {
            result.text = QObject::tr("No patches: %1").arg(QString::fromStdString(project::noPatchesAdvice(map, tiling)));
            return result;
        }
        const slide::TissueDetectionStats &stats = map.stats();
        const auto pieces = static_cast<int>(map.regions().size());
        result.text = QObject::tr("Tissue %1% of the slide in %2, %3 patches of %4 px with at least %5% tissue "
                                  "(preset %6; pieces from %7 mm\u00b2 at %8 \u00b5m/px, %9)")
                          .arg(100.0 * map.tissueFraction(), 0, 'f', 1)
                          .arg(pieces == 1 ? QObject::tr("1 piece") : QObject::tr("%1 pieces").arg(pieces))
                          .arg(grid.coords.size())
                          .arg(grid.patchSize)
                          .arg(std::lround(100.0 * tiling.grid.minTissueFraction))
                          .arg(QString::fromStdString(tiling.tissue.presetName))
                          .arg(stats.minTissueAreaMm2, 0, 'g', 3)
                          .arg(stats.mppX, 0, 'g', 3)
                          .arg(QString::fromStdString(stats.mppSource));
    } catch (const std::exception &error) {
        result.polygons.clear();
        result.text = QObject::tr("Cannot preview the tissue: %1").arg(QString::fromUtf8(error.what()));
    }
    return result;
}

void TissuePreview::setActive(bool active)
{
    if (m_active == active)
        return;
    m_active = active;
    m_layer->setVisible(active);
    if (active) {
        refresh();
    } else {
        ++m_generation; // whatever is computing now is not shown
        m_pending = false;
        setText(QString());
    }
}

void TissuePreview::setSlide(std::shared_ptr<const slide::SlideSource> slide)
{
    m_slide = std::move(slide);
    m_layer->clear();
    if (m_active)
        refresh();
}

void TissuePreview::setTiling(const project::TilingConfig &tiling)
{
    if (project::tissueSettingsKey(tiling) == project::tissueSettingsKey(m_tiling) && tiling.grid.patchSize == m_tiling.grid.patchSize
        && tiling.grid.targetMagnification == m_tiling.grid.targetMagnification && tiling.grid.level == m_tiling.grid.level
        && tiling.grid.overlap == m_tiling.grid.overlap && tiling.grid.step == m_tiling.grid.step)
        return; // nothing that changes the mask or the grid
    m_tiling = tiling;
    if (m_active)
        refresh();
}

void TissuePreview::refresh()
{
    ++m_generation;
    if (!m_slide) {
        m_pending = false;
        m_layer->clear();
        setText(tr("Open a slide to preview the tissue these settings keep."));
        Q_EMIT previewed();
        return;
    }
    setText(tr("Finding the tissue..."));
    if (m_watcher.isRunning())
        m_pending = true; // started when the running one finishes
    else
        start();
}

void TissuePreview::start()
{
    m_pending = false;
    const quint64 generation = m_generation;
    m_watcher.setFuture(QtConcurrent::run([slide = m_slide, tiling = m_tiling, generation] {
        Result result = compute(*slide, tiling);
        result.generation = generation;
        return result;
    }));
}

void TissuePreview::onFinished()
{
    const Result result = m_watcher.result();
    if (m_pending && m_active && m_slide) {
        start();
        return;
    }
    if (!m_active || result.generation != m_generation)
        return;
    m_layer->setPolygons(result.polygons);
    setText(result.text);
    Q_EMIT previewed();
}

void TissuePreview::setText(const QString &text)
{
    if (text == m_text)
        return;
    m_text = text;
    Q_EMIT textChanged(text);
}

} // namespace icmil::ui
