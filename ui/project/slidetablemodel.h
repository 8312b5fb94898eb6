// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/projectcatalog.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QImage>
#include <QSet>
#include <QThreadPool>

namespace icmil::ui {

// The slides of a project as a table: thumbnail, slide id, label, split, predicted class and a
// probability (binary: the positive class's, "P(tumor)"; otherwise the predicted class's). Thumbnails are read on a background pool the first time a row is shown (the
// view asks for its decoration) and arrive as QImages; a slide that cannot be read is marked
// across its row (warning sign, red name, "cannot be read") with its error as the tooltip.
class SlideTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Thumbnail, Slide, Label, Split, Prediction, Probability, ColumnCount };
    static constexpr int kThumbnailSize = 72;
    static constexpr int SortRole = Qt::UserRole + 1; // numbers sort as numbers
    static constexpr int PathRole = Qt::UserRole + 2; // the slide file, "" when missing

    explicit SlideTableModel(QObject *parent = nullptr);
    ~SlideTableModel() override;

    void setCatalog(project::ProjectCatalog catalog);
    const project::ProjectCatalog &catalog() const { return m_catalog; }
    const project::CatalogSlide &slideAt(int row) const { return m_catalog.slides.at(static_cast<std::size_t>(row)); }
    int rowOf(const QString &slideId) const; // -1 when absent
    int thumbnailsLoaded() const { return static_cast<int>(m_thumbnails.size()); }
    QString readError(int row) const { return m_thumbnailErrors.value(row); } // empty: read, or not tried yet

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

Q_SIGNALS:
    void thumbnailLoaded(int row);

private:
    void requestThumbnail(int row) const;
    void onThumbnail(quint64 generation, int row, const QImage &image, const QString &error);

    project::ProjectCatalog m_catalog;
    quint64 m_generation = 0; // a new catalogue ignores thumbnails of the old one
    mutable QSet<int> m_requested;
    QHash<int, QImage> m_thumbnails;
    QHash<int, QString> m_thumbnailErrors;
    mutable QThreadPool m_pool;
};

} // namespace icmil::ui
