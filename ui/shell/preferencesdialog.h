// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/shell/preferences.h"

#include <QDialog>
#include <QFutureWatcher>

class QComboBox;
class QLabel;
class QSpinBox;

namespace icmil::ui {

// Edit > Preferences: tile cache size, tile reader threads, training's compute device, LibTorch's
// CPU threads and the default heatmap colours. OK saves them (Preferences::save); the window
// applies them. Whether CUDA is usable, and how many devices there are, is asked off the GUI
// thread and shown under the device choice.
class PreferencesDialog : public QDialog {
    Q_OBJECT
public:
    explicit PreferencesDialog(const Preferences &current, QWidget *parent = nullptr);

    Preferences preferences() const; // as the widgets show them
    void setPreferences(const Preferences &preferences);

Q_SIGNALS:
    void cudaShown(); // the device list and the CUDA line are complete

private:
    void showCuda();
    void selectDevice(const QString &device);

    QSpinBox *m_tileCache = nullptr;
    QSpinBox *m_loaderThreads = nullptr;
    QComboBox *m_device = nullptr;
    QLabel *m_cuda = nullptr;
    QSpinBox *m_computeThreads = nullptr;
    QComboBox *m_colormap = nullptr;
    struct Cuda {
        int devices = 0; // usable CUDA devices
        QString text;
    };
    QFutureWatcher<Cuda> m_cudaWatcher;
};

} // namespace icmil::ui
