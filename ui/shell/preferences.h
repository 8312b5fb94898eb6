// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>

namespace icmil::ui {

// The user's preferences, kept in QSettings: what the viewer, training and heatmaps start with.
// Edit > Preferences changes them (PreferencesDialog); MainWindow::applyPreferences applies them
// to the running app at once.
struct Preferences {
    static constexpr int kMinTileCacheMiB = 64;
    static constexpr int kMaxTileCacheMiB = 65536;
    static constexpr int kMaxThreads = 1024;

    int tileCacheMiB = 512;                         // viewer/cacheBudgetMiB: decoded tiles kept in memory
    int loaderThreads = 0;                          // viewer/loaderThreads: tile readers per slide, 0 = one per core
    QString computeDevice = QStringLiteral("auto"); // compute/device: training's device, "auto", "cpu" or "cuda:N"
    int computeThreads = 0;                         // compute/threads: LibTorch's CPU threads, 0 = every core
    QString colormap = QStringLiteral("viridis");   // heatmap/colormap: the attention heatmap's colours

    // A stored value that is out of range, of the wrong type or unknown (a hand-edited file, an
    // older version) reads as its default; the others are kept.
    static Preferences load();
    void save() const;

    bool operator==(const Preferences &) const = default;
};

} // namespace icmil::ui
