// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/framerefiner.h"

#include "ui/viewer/backgroundpriority.h"

#include <QtConcurrent/QtConcurrentRun>

#include <utility>

namespace icmil::ui {

FrameRefiner::FrameRefiner(ViewFrame &frame, std::function<bool()> isBusy, QObject *parent)
    : QObject(parent), m_frame(frame), m_isBusy(std::move(isBusy))
{
    m_pool.setMaxThreadCount(1);
    m_rest.setSingleShot(true);
    m_rest.setInterval(kRestMs);
    connect(&m_rest, &QTimer::timeout, this, &FrameRefiner::refineNow);
    connect(&m_watcher, &QFutureWatcher<QImage>::finished, this, &FrameRefiner::finished);
}

void FrameRefiner::framePainted()
{
    if (!m_frame.isRough())
        return;
    const ViewFrame::Work work = m_frame.lastWork();
    // A picture that just moved restarts the wait; one that only gained tiles keeps it.
    if (work == ViewFrame::Work::Full || work == ViewFrame::Work::Scrolled || !m_rest.isActive())
        m_rest.start();
}

void FrameRefiner::refineNow()
{
    m_rest.stop();
    if (m_watcher.isRunning() || !m_frame.isRough() || (m_isBusy && m_isBusy()))
        return;
    m_job = m_frame.makeRefineJob();
    if (!m_job)
        return;
    m_watcher.setFuture(QtConcurrent::run(&m_pool, [job = m_job] {
        lowerCurrentThreadPriority();
        return ViewFrame::renderRefined(*job);
    }));
}

void FrameRefiner::cancel()
{
    m_rest.stop();
    m_job.reset();
}

void FrameRefiner::finished()
{
    QFuture<QImage> future = m_watcher.future();
    const std::shared_ptr<const ViewFrame::RefineJob> job = std::move(m_job);
    // takeResult: the frame becomes the only owner, so painting on it later copies nothing.
    if (job && future.resultCount() > 0 && m_frame.acceptRefined(*job, future.takeResult())) {
        Q_EMIT refined();
        return;
    }
    if (m_frame.isRough())
        m_rest.start(); // superseded: the frame moved on meanwhile; try again once it rests
}

} // namespace icmil::ui
