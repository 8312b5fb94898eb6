// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/demoproject.h"

#include <QDir>
#include <QStandardPaths>
#include <QtConcurrent/QtConcurrentRun>

#include <exception>

namespace icmil::ui {

DemoProjectBuilder::DemoProjectBuilder(QObject *parent) : QObject(parent)
{
    connect(&m_watcher, &QFutureWatcher<QString>::finished, this, &DemoProjectBuilder::onFinished);
}

DemoProjectBuilder::~DemoProjectBuilder()
{
    cancel();
    m_watcher.waitForFinished(); // the worker emits progressChanged through this: it must end first
}

QString DemoProjectBuilder::defaultFolder()
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation)).filePath(QStringLiteral("icmil-studio/demo"));
}

bool DemoProjectBuilder::start(project::SyntheticDatasetConfig config)
{
    if (isRunning())
        return false;
    m_folder = QString::fromStdString(config.outputDir.string());
    auto dataset = std::make_shared<project::SyntheticDataset>(std::move(config));
    {
        const std::lock_guard lock(m_mutex);
        m_dataset = dataset;
        m_cancelRequested = false;
    }
    m_watcher.setFuture(QtConcurrent::run([this, dataset] {
        int shown = -1;
        try {
            dataset->generate([&](int slide, int slides, double) {
                if (slide != shown) { // a queued signal to the GUI thread, once per slide
                    shown = slide;
                    Q_EMIT progressChanged(slide, slides);
                }
            });
            return QString();
        } catch (const std::exception &e) {
            return QString::fromStdString(e.what());
        }
    }));
    return true;
}

void DemoProjectBuilder::cancel()
{
    const std::lock_guard lock(m_mutex);
    if (m_dataset) {
        m_cancelRequested = true;
        m_dataset->cancel();
    }
}

void DemoProjectBuilder::onFinished()
{
    const QString error = m_watcher.result();
    bool cancelledRun = false;
    {
        const std::lock_guard lock(m_mutex);
        m_dataset.reset();
        cancelledRun = m_cancelRequested;
    }
    if (cancelledRun)
        Q_EMIT cancelled();
    else if (!error.isEmpty())
        Q_EMIT failed(error);
    else
        Q_EMIT finished(m_folder);
}

} // namespace icmil::ui
