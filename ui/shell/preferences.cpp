// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/preferences.h"

#include "engine/engineerror.h"
#include "engine/runtime/runtimeinfo.h"
#include "ui/viewer/colormap.h"

#include <QSettings>

namespace icmil::ui {

namespace {

const QString kTileCacheKey = QStringLiteral("viewer/cacheBudgetMiB");
const QString kLoaderThreadsKey = QStringLiteral("viewer/loaderThreads");
const QString kDeviceKey = QStringLiteral("compute/device");
const QString kComputeThreadsKey = QStringLiteral("compute/threads");
const QString kColormapKey = QStringLiteral("heatmap/colormap");

int readInt(const QSettings &settings, const QString &key, int fallback, int min, int max)
{
    bool ok = false;
    const int value = settings.value(key, fallback).toInt(&ok);
    return ok && value >= min && value <= max ? value : fallback;
}

} // namespace

Preferences Preferences::load()
{
    const QSettings settings;
    Preferences p;
    p.tileCacheMiB = readInt(settings, kTileCacheKey, p.tileCacheMiB, kMinTileCacheMiB, kMaxTileCacheMiB);
    p.loaderThreads = readInt(settings, kLoaderThreadsKey, p.loaderThreads, 0, kMaxThreads);
    p.computeThreads = readInt(settings, kComputeThreadsKey, p.computeThreads, 0, kMaxThreads);
    try {
        const std::string device = settings.value(kDeviceKey, p.computeDevice).toString().toStdString();
        p.computeDevice = QString::fromStdString(engine::formatDevice(engine::parseDevice(device)));
    } catch (const engine::EngineError &) {
        // an unknown device keeps the default
    }
    const QString colormap = settings.value(kColormapKey, p.colormap).toString();
    if (Colormap::byName(colormap))
        p.colormap = colormap;
    return p;
}

void Preferences::save() const
{
    QSettings settings;
    settings.setValue(kTileCacheKey, tileCacheMiB);
    settings.setValue(kLoaderThreadsKey, loaderThreads);
    settings.setValue(kDeviceKey, computeDevice);
    settings.setValue(kComputeThreadsKey, computeThreads);
    settings.setValue(kColormapKey, colormap);
}

} // namespace icmil::ui
