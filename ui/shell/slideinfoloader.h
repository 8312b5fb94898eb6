// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QFutureWatcher>
#include <QImage>
#include <QList>
#include <QObject>
#include <QPair>
#include <QString>

#include <memory>

namespace icmil::slide {
class SlideSource;
struct RgbaImage;
} // namespace icmil::slide

namespace icmil::ui {

// What the window shows about a slide. A value: it crosses from the worker thread to the GUI.
struct SlideOverview {
    QString path;
    QString summary;                                  // "aperio, 20000 x 16000, 4 levels, 0.500 µm/px, 20x"
    QImage overview;                                  // whole-slide picture, at most 1024 px on the long side
    QList<QPair<QString, QString>> properties;        // sorted by key
    std::shared_ptr<const slide::SlideSource> source; // the open slide, ready for the viewer
};

// Opens a slide off the GUI thread and reports it as a SlideOverview, or a one-sentence error.
// Only the most recent request is reported; results of superseded loads are dropped.
class SlideInfoLoader : public QObject {
    Q_OBJECT
public:
    explicit SlideInfoLoader(QObject *parent = nullptr);
    ~SlideInfoLoader() override;

    void load(const QString &path);
    bool isBusy() const;

    // The work itself, runnable on any thread; throws std::exception with a user-facing message.
    static SlideOverview readOverview(const QString &path);

Q_SIGNALS:
    void loaded(const icmil::ui::SlideOverview &overview);
    void failed(const QString &path, const QString &message);

private:
    struct Outcome {
        SlideOverview overview;
        QString error;
    };
    QFutureWatcher<Outcome> m_watcher;
    QString m_pendingPath; // requested while a load was running
    QString m_currentPath;

    void start(const QString &path);
    void onFinished();
};

} // namespace icmil::ui
