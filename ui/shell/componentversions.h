// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QList>
#include <QString>

namespace icmil::ui {

// One library (or fact) the app runs with, for the About dialog and `icmil-studio --version`.
struct ComponentVersion {
    QString name;    // "Qt", "LibTorch", "CUDA", ...
    QString version; // as loaded at run time where the library says so
};

// ICMIL Studio, Qt, LibTorch (threads, BLAS, CUDA), OpenSlide, OpenCV and libtiff. Asks
// LibTorch whether CUDA is usable, which on a CUDA machine starts the driver (can take a
// second): call it off the GUI thread.
QList<ComponentVersion> componentVersions();

// The same as text, one "name version" line each, then the licence line, for --version and bug reports.
QString versionReport(const QList<ComponentVersion> &components);

} // namespace icmil::ui
