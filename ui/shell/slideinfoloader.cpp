// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/slideinfoloader.h"

#include "ui/viewer/paintableimage.h"

#include "slide/io/slidesource.h"

#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <exception>

namespace icmil::ui {

namespace {

constexpr int kOverviewEdge = 1024;

} // namespace

SlideInfoLoader::SlideInfoLoader(QObject *parent) : QObject(parent)
{
    connect(&m_watcher, &QFutureWatcher<Outcome>::finished, this, &SlideInfoLoader::onFinished);
}

SlideInfoLoader::~SlideInfoLoader()
{
    m_watcher.waitForFinished();
}

bool SlideInfoLoader::isBusy() const
{
    return m_watcher.isRunning();
}

void SlideInfoLoader::load(const QString &path)
{
    if (m_watcher.isRunning()) {
        m_pendingPath = path; // the running load is reported only if nothing newer came
        return;
    }
    start(path);
}

void SlideInfoLoader::start(const QString &path)
{
    m_currentPath = path;
    m_watcher.setFuture(QtConcurrent::run([path]() {
        Outcome outcome;
        try {
            outcome.overview = readOverview(path);
        } catch (const std::exception &e) {
            outcome.error = QString::fromStdString(e.what());
        }
        return outcome;
    }));
}

void SlideInfoLoader::onFinished()
{
    if (!m_pendingPath.isEmpty()) {
        const QString next = m_pendingPath;
        m_pendingPath.clear();
        start(next);
        return;
    }
    const Outcome outcome = m_watcher.result();
    if (outcome.error.isEmpty())
        Q_EMIT loaded(outcome.overview);
    else
        Q_EMIT failed(m_currentPath, outcome.error);
}

SlideOverview SlideInfoLoader::readOverview(const QString &path)
{
    const std::shared_ptr<const slide::SlideSource> source = slide::SlideSource::open(path.toStdString());
    const slide::SlideMetadata &m = source->metadata();
    SlideOverview result;
    result.path = path;
    result.source = source;

    QString summary = QString::fromStdString(m.vendor)
        + QStringLiteral(", %1 x %2, %3 level(s)").arg(m.levels.front().width).arg(m.levels.front().height).arg(source->levelCount());
    if (m.mppX)
        summary += QStringLiteral(", %1 µm/px").arg(*m.mppX, 0, 'f', 3);
    if (m.objectivePower)
        summary += QStringLiteral(", %1x").arg(*m.objectivePower);
    result.summary = summary;

    for (const auto &[key, value] : m.properties)
        result.properties.append({QString::fromStdString(key), QString::fromStdString(value)});

    result.overview = readOverviewImage(*source, kOverviewEdge);
    return result;
}

} // namespace icmil::ui
