// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/viewframe.h"

#include <QFutureWatcher>
#include <QImage>
#include <QObject>
#include <QThreadPool>
#include <QTimer>

#include <functional>
#include <memory>

namespace icmil::ui {

// Replaces a ViewFrame's quick (unfiltered) picture with a filtered one rendered on a worker
// thread, once the view has rested a moment: while it keeps moving every such render would be
// thrown away. One worker thread at most, so it never takes more than a core from the tile
// readers. The worker renders from a snapshot of values; nothing it touches belongs to the GUI.
class FrameRefiner : public QObject {
    Q_OBJECT
public:
    static constexpr int kRestMs = 30; // how long the picture must rest before refining

    // isBusy: true while the owner is still moving the view (animation, drag).
    FrameRefiner(ViewFrame &frame, std::function<bool()> isBusy, QObject *parent = nullptr);

    void framePainted(); // after every paint: (re)arms the rest timer for a rough frame
    void refineNow();    // e.g. a motion just ended
    void cancel();       // the slide changed: a running render is ignored when it finishes

Q_SIGNALS:
    void refined(); // the frame's picture changed: repaint

private:
    void finished();

    ViewFrame &m_frame;
    std::function<bool()> m_isBusy;
    QTimer m_rest;
    QThreadPool m_pool;
    QFutureWatcher<QImage> m_watcher;
    std::shared_ptr<const ViewFrame::RefineJob> m_job;
};

} // namespace icmil::ui
