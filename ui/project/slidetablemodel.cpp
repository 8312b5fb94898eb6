// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/project/slidetablemodel.h"

#include "ui/viewer/paintableimage.h"

#include "slide/io/slidesource.h"

#include <QApplication>
#include <QMetaObject>
#include <QPointer>
#include <QStyle>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>

namespace icmil::ui {

namespace {

// The slide whole, at most `side` pixels on its long side. Any thread.
QImage readThumbnail(const std::filesystem::path &path, int side)
{
    const std::shared_ptr<const slide::SlideSource> source = slide::SlideSource::open(path);
    QImage image = readOverviewImage(*source, side);
    if (image.isNull())
        throw std::runtime_error("No thumbnail: the slide has no level small enough to read whole");
    return image;
}

QString text(const std::string &s)
{
    return QString::fromStdString(s);
}

} // namespace

SlideTableModel::SlideTableModel(QObject *parent) : QAbstractTableModel(parent)
{
    m_pool.setMaxThreadCount(2);
}

SlideTableModel::~SlideTableModel()
{
    m_pool.clear();
    m_pool.waitForDone(); // the jobs post to this object
}

void SlideTableModel::setCatalog(project::ProjectCatalog catalog)
{
    beginResetModel();
    m_pool.clear();
    ++m_generation;
    m_catalog = std::move(catalog);
    m_requested.clear();
    m_thumbnails.clear();
    m_thumbnailErrors.clear();
    endResetModel();
}

int SlideTableModel::rowOf(const QString &slideId) const
{
    const std::string id = slideId.toStdString();
    for (std::size_t i = 0; i < m_catalog.slides.size(); ++i) {
        if (m_catalog.slides[i].slideId == id)
            return static_cast<int>(i);
    }
    return -1;
}

int SlideTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_catalog.slides.size());
}

int SlideTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SlideTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const project::CatalogSlide &slide = slideAt(index.row());
    const int row = index.row();
    if (role == PathRole)
        return slide.path.empty() ? QString() : QString::fromStdString(slide.path.string());

    // Binary: the positive class's probability (what a threshold applies to); otherwise the
    // predicted class's.
    const auto probability = [&]() -> std::optional<double> {
        if (!slide.prediction)
            return std::nullopt;
        const auto &names = m_catalog.classNames;
        const auto &p = slide.prediction->probabilities;
        if (names.size() == 2)
            return p.size() == 2 ? std::optional<double>(p[1]) : std::nullopt;
        const auto it = std::find(names.begin(), names.end(), slide.prediction->predicted);
        const auto at = static_cast<std::size_t>(it - names.begin());
        if (it == names.end() || at >= p.size())
            return std::nullopt;
        return p[at];
    };

    // A slide that cannot be read (its thumbnail failed) is marked in every column that speaks of
    // it: a warning sign for a picture, its name in red, "cannot be read" for a prediction, and
    // the error as the tooltip.
    const QString readError = m_thumbnailErrors.value(row);
    const bool broken = !readError.isEmpty();
    const QColor red(0xc6, 0x28, 0x28);
    if (broken && role == Qt::ToolTipRole && index.column() != Probability)
        return tr("This slide cannot be read; training leaves it out: %1").arg(readError);

    switch (index.column()) {
    case Thumbnail:
        if (role == Qt::DecorationRole) {
            if (const auto it = m_thumbnails.constFind(row); it != m_thumbnails.cend())
                return it.value();
            if (broken)
                return QApplication::style()->standardIcon(QStyle::SP_MessageBoxWarning);
            requestThumbnail(row);
            return {};
        }
        if (role == Qt::SizeHintRole)
            return QSize(kThumbnailSize + 4, kThumbnailSize + 4);
        return {};
    case Slide:
        if (role == Qt::DisplayRole || role == SortRole)
            return text(slide.slideId);
        if (role == Qt::ToolTipRole)
            return slide.path.empty() ? tr("No slide file for this row") : QString::fromStdString(slide.path.string());
        if (role == Qt::ForegroundRole && (slide.path.empty() || broken))
            return broken ? red : QColor(Qt::gray);
        return {};
    case Label: return role == Qt::DisplayRole || role == SortRole ? QVariant(text(slide.label)) : QVariant();
    case Split: return role == Qt::DisplayRole || role == SortRole ? QVariant(text(slide.split)) : QVariant();
    case Prediction:
        if ((role == Qt::DisplayRole || role == SortRole) && !slide.prediction)
            return broken ? tr("cannot be read") : slide.path.empty() ? tr("no slide file") : QString();
        if (role == Qt::DisplayRole || role == SortRole)
            return text(slide.prediction->predicted);
        if (role == Qt::ForegroundRole && !slide.prediction)
            return broken ? red : QColor(Qt::gray);
        if (role == Qt::ForegroundRole && !slide.label.empty())
            return slide.prediction->predicted == slide.label ? QColor(0x2e, 0x7d, 0x32) : QColor(0xc6, 0x28, 0x28);
        return {};
    case Probability:
        if (role == Qt::DisplayRole) {
            const auto p = probability();
            return p ? QString::number(*p, 'f', 3) : QString();
        }
        if (role == SortRole) {
            const auto p = probability();
            return p ? QVariant(*p) : QVariant(-1.0);
        }
        if (role == Qt::TextAlignmentRole)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    default: return {};
    }
}

QVariant SlideTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    const bool binaryThreshold = m_catalog.threshold && m_catalog.classNames.size() == 2;
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole && section == Prediction && !m_catalog.predictionRun.empty())
        return binaryThreshold ? tr("Run %1: %2 when P(%2) >= %3, the threshold chosen on the validation slides")
                                     .arg(text(m_catalog.predictionRun), text(m_catalog.classNames[1]))
                                     .arg(*m_catalog.threshold, 0, 'f', 3)
                               : tr("Run %1: the most probable class").arg(text(m_catalog.predictionRun));
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Thumbnail: return tr("Slide image");
    case Slide: return tr("Slide");
    case Label: return tr("Label");
    case Split: return tr("Split");
    case Prediction: return binaryThreshold ? tr("Prediction (P >= %1)").arg(*m_catalog.threshold, 0, 'f', 2) : tr("Prediction");
    case Probability:
        return m_catalog.classNames.size() == 2 ? tr("P(%1)").arg(QString::fromStdString(m_catalog.classNames[1])) : tr("Probability");
    default: return {};
    }
}

void SlideTableModel::requestThumbnail(int row) const
{
    if (m_requested.contains(row))
        return;
    m_requested.insert(row);
    const project::CatalogSlide &slide = slideAt(row);
    if (slide.path.empty())
        return;
    auto *self = const_cast<SlideTableModel *>(this); // results come back as a queued call
    const quint64 generation = m_generation;
    const std::filesystem::path path = slide.path;
    m_pool.start([self, generation, row, path] {
        QImage image;
        QString error;
        try {
            image = readThumbnail(path, kThumbnailSize);
        } catch (const std::exception &e) {
            error = QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(
            self, [self, generation, row, image, error] { self->onThumbnail(generation, row, image, error); }, Qt::QueuedConnection);
    });
}

void SlideTableModel::onThumbnail(quint64 generation, int row, const QImage &image, const QString &error)
{
    if (generation != m_generation || row >= rowCount())
        return;
    if (image.isNull())
        m_thumbnailErrors.insert(row, error);
    else
        m_thumbnails.insert(row, image);
    Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1)); // a broken slide is marked across its row
    Q_EMIT thumbnailLoaded(row);
}

} // namespace icmil::ui
