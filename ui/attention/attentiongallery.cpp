// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/attention/attentiongallery.h"

#include "ui/viewer/paintableimage.h"

#include "slide/io/slidesource.h"

#include <QMetaObject>

#include <algorithm>
#include <cmath>
#include <exception>

namespace icmil::ui {

namespace {

// The patch at the finest level that gives at least kIconSize pixels across, scaled to the icon.
QImage readPatch(const slide::SlideSource &source, const QRectF &level0)
{
    const double wanted = level0.width() / AttentionGallery::kIconSize;
    const int level = source.bestLevelForDownsample(std::max(1.0, wanted));
    const double downsample = source.level(level).downsample;
    const int w = std::max(1, static_cast<int>(std::lround(level0.width() / downsample)));
    const int h = std::max(1, static_cast<int>(std::lround(level0.height() / downsample)));
    const QImage image
        = readPaintableRegion(source, level, static_cast<std::int64_t>(level0.x()), static_cast<std::int64_t>(level0.y()), w, h);
    return image.scaled(AttentionGallery::kIconSize, AttentionGallery::kIconSize, Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

} // namespace

AttentionGallery::AttentionGallery(QWidget *parent) : QListWidget(parent)
{
    m_pool.setMaxThreadCount(2);
    setViewMode(QListView::IconMode);
    setIconSize(QSize(kIconSize, kIconSize));
    setResizeMode(QListView::Adjust);
    setMovement(QListView::Static);
    setSpacing(4);
    setUniformItemSizes(true);
    setSelectionMode(QAbstractItemView::SingleSelection);
    connect(this, &QListWidget::itemActivated, this, [this](QListWidgetItem *item) {
        const int index = item->data(Qt::UserRole).toInt();
        if (index >= 0 && index < static_cast<int>(m_patches.size()))
            Q_EMIT patchActivated(m_patches[static_cast<std::size_t>(index)].level0);
    });
    connect(this, &QListWidget::itemClicked, this, &QListWidget::itemActivated);
}

AttentionGallery::~AttentionGallery()
{
    m_pool.clear();
    m_pool.waitForDone(); // the jobs post to this object
}

void AttentionGallery::setPatches(std::shared_ptr<const slide::SlideSource> source, std::vector<Patch> patches)
{
    clear();
    m_pool.clear(); // pictures of the previous slide not yet read are not wanted
    ++m_generation;
    m_loaded = 0;
    m_patches = std::move(patches);
    QImage placeholder(kIconSize, kIconSize, QImage::Format_RGB32);
    placeholder.fill(QColor(0xec, 0xec, 0xea));
    for (int i = 0; i < static_cast<int>(m_patches.size()); ++i) {
        const Patch &patch = m_patches[static_cast<std::size_t>(i)];
        auto *item
            = new QListWidgetItem(QIcon(QPixmap::fromImage(placeholder)), tr("#%1  %2").arg(i + 1).arg(patch.score, 0, 'f', 3), this);
        item->setData(Qt::UserRole, i);
        item->setToolTip(tr("Rank %1, attention %2 (raw %3)\nx %4, y %5 (level 0)")
                             .arg(i + 1)
                             .arg(patch.score, 0, 'f', 4)
                             .arg(patch.raw, 0, 'g', 5)
                             .arg(static_cast<qint64>(patch.level0.x()))
                             .arg(static_cast<qint64>(patch.level0.y())));
    }
    if (!source)
        return;
    const quint64 generation = m_generation;
    for (int i = 0; i < static_cast<int>(m_patches.size()); ++i) {
        const QRectF area = m_patches[static_cast<std::size_t>(i)].level0;
        m_pool.start([this, source, generation, i, area] {
            QImage image;
            try {
                image = readPatch(*source, area);
            } catch (const std::exception &) {
                image = QImage(); // an unreadable patch keeps its placeholder
            }
            QMetaObject::invokeMethod(
                this, [this, generation, i, image] { onPicture(generation, i, image); }, Qt::QueuedConnection);
        });
    }
}

void AttentionGallery::onPicture(quint64 generation, int index, const QImage &image)
{
    if (generation != m_generation || index >= count())
        return;
    ++m_loaded;
    if (!image.isNull())
        item(index)->setIcon(QIcon(QPixmap::fromImage(image)));
}

} // namespace icmil::ui
