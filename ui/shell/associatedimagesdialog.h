// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QDialog>
#include <QFutureWatcher>
#include <QImage>
#include <QList>
#include <QString>

#include <memory>

class QLabel;
class QTabWidget;

namespace icmil::slide {
class SlideSource;
}

namespace icmil::ui {

// Shows a slide's associated images (label, macro, thumbnail, ...), one tab each, each fitted
// whole into its tab (never enlarged). The images are read on a worker thread; the dialog opens
// at once with a "Reading..." line.
class AssociatedImagesDialog : public QDialog {
    Q_OBJECT
public:
    static constexpr int kMaxEdge = 900; // larger images are shown scaled down

    explicit AssociatedImagesDialog(std::shared_ptr<const slide::SlideSource> source, QWidget *parent = nullptr);

    bool isLoading() const { return m_watcher.isRunning(); }
    QStringList names() const; // the tabs, once loaded

Q_SIGNALS:
    void loaded();

private:
    struct Picture {
        QString name;
        QImage image; // scaled to at most kMaxEdge
        QSize original;
        QString error;
    };
    static QList<Picture> readAll(const slide::SlideSource &source);
    void showPictures(const QList<Picture> &pictures);

    QFutureWatcher<QList<Picture>> m_watcher;
    QTabWidget *m_tabs = nullptr;
    QLabel *m_status = nullptr;
};

} // namespace icmil::ui
