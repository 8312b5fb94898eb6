// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/features/slidetiler.h"

#include <QFutureWatcher>
#include <QObject>
#include <QPolygonF>
#include <QString>

#include <memory>
#include <vector>

namespace icmil::slide {
class SlideSource;
}

namespace icmil::ui {

class ContourLayer;

// What the Training dock's tissue settings would keep on the slide shown in the viewer, before
// anything is extracted: tissue detection and the patch grid on a pool thread with those
// settings, the tissue outlined by a ContourLayer, and one line that says how much tissue and
// how many patches there are, or why there are none (project::noPatchesAdvice). A request made
// while one is computing (another slide, another setting) runs when it finishes; a result for
// anything but the latest request is dropped. Inactive, the layer is hidden and nothing runs.
class TissuePreview : public QObject {
    Q_OBJECT
public:
    explicit TissuePreview(ContourLayer *layer, QObject *parent = nullptr);
    ~TissuePreview() override;

    void setActive(bool active);
    bool isActive() const { return m_active; }
    void setSlide(std::shared_ptr<const slide::SlideSource> slide); // null: no slide shown
    void setTiling(const project::TilingConfig &tiling);
    QString text() const { return m_text; }
    bool busy() const { return m_watcher.isRunning(); }

    struct Result {
        quint64 generation = 0;
        std::vector<std::vector<QPolygonF>> polygons; // rings per tissue region, level-0 pixels
        QString text;
    };
    // The computation itself (any thread): detection, grid, the line to show.
    static Result compute(const slide::SlideSource &slide, const project::TilingConfig &tiling);

Q_SIGNALS:
    void textChanged(const QString &text);
    void previewed(); // a result for the latest request is shown

private:
    void refresh();
    void start();
    void onFinished();
    void setText(const QString &text);

    ContourLayer *m_layer;
    bool m_active = false;
    std::shared_ptr<const slide::SlideSource> m_slide;
    project::TilingConfig m_tiling;
    quint64 m_generation = 0; // of the latest request
    bool m_pending = false;   // a request came while computing
    QFutureWatcher<Result> m_watcher;
    QString m_text;
};

} // namespace icmil::ui
