// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/preferencesdialog.h"

#include "engine/runtime/runtimeinfo.h"
#include "project/backend/torchbackend.h"
#include "ui/viewer/colormap.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace icmil::ui {

namespace {

QSpinBox *threadBox(const QString &automatic, QWidget *parent)
{
    auto *box = new QSpinBox(parent);
    box->setRange(0, Preferences::kMaxThreads);
    box->setSpecialValueText(automatic); // shown for 0
    return box;
}

} // namespace

PreferencesDialog::PreferencesDialog(const Preferences &current, QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("Preferences"));
    const int cores = std::max(1, QThread::idealThreadCount());

    m_tileCache = new QSpinBox(this);
    m_tileCache->setObjectName(QStringLiteral("tileCache"));
    m_tileCache->setRange(Preferences::kMinTileCacheMiB, Preferences::kMaxTileCacheMiB);
    m_tileCache->setSingleStep(64);
    m_tileCache->setSuffix(tr(" MiB"));
    m_loaderThreads = threadBox(tr("Automatic (one per core)"), this);
    m_loaderThreads->setObjectName(QStringLiteral("loaderThreads"));
    auto *viewer = new QGroupBox(tr("Viewer"), this);
    auto *viewerForm = new QFormLayout(viewer);
    viewerForm->addRow(tr("Tile cache:"), m_tileCache);
    viewerForm->addRow(tr("Tile reader threads:"), m_loaderThreads);
    auto *viewerHint = new QLabel(tr("Decoded tiles kept in memory: places you return to show at once. "
                                     "Reader threads apply to the next slide opened."),
                                  viewer);
    viewerHint->setWordWrap(true);
    viewerForm->addRow(viewerHint);

    m_device = new QComboBox(this);
    m_device->setObjectName(QStringLiteral("device"));
    m_device->addItem(tr("Automatic (CUDA when usable, else CPU)"), QStringLiteral("auto"));
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    m_cuda = new QLabel(tr("CUDA: looking ..."), this);
    m_cuda->setObjectName(QStringLiteral("cudaStatus"));
    m_computeThreads = threadBox(tr("All cores (%1)").arg(cores), this);
    m_computeThreads->setObjectName(QStringLiteral("computeThreads"));
    auto *compute = new QGroupBox(tr("Training and feature extraction"), this);
    auto *computeForm = new QFormLayout(compute);
    computeForm->addRow(tr("Device:"), m_device);
    computeForm->addRow(QString(), m_cuda);
    computeForm->addRow(tr("CPU threads:"), m_computeThreads);

    m_colormap = new QComboBox(this);
    m_colormap->setObjectName(QStringLiteral("colormap"));
    m_colormap->addItems(Colormap::names());
    auto *heatmap = new QGroupBox(tr("Attention heatmaps"), this);
    auto *heatmapForm = new QFormLayout(heatmap);
    heatmapForm->addRow(tr("Default colours:"), m_colormap);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults, this);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        preferences().save();
        accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this, [this] { setPreferences(Preferences{}); });

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(viewer);
    layout->addWidget(compute);
    layout->addWidget(heatmap);
    layout->addStretch(1);
    layout->addWidget(buttons);

    setPreferences(current);
    connect(&m_cudaWatcher, &QFutureWatcher<Cuda>::finished, this, &PreferencesDialog::showCuda);
    m_cudaWatcher.setFuture(QtConcurrent::run([] {
        try {
            const engine::RuntimeInfo info = project::torchBackend().runtimeInfo(); // loads LibTorch, off the GUI thread
            return Cuda{info.cudaAvailable ? info.cudaDeviceCount : 0, QString::fromStdString(engine::describeCuda(info))};
        } catch (const std::exception &e) {
            return Cuda{0, QString::fromStdString(e.what())};
        }
    }));
}

Preferences PreferencesDialog::preferences() const
{
    Preferences p;
    p.tileCacheMiB = m_tileCache->value();
    p.loaderThreads = m_loaderThreads->value();
    p.computeDevice = m_device->currentData().toString();
    p.computeThreads = m_computeThreads->value();
    p.colormap = m_colormap->currentText();
    return p;
}

void PreferencesDialog::setPreferences(const Preferences &p)
{
    m_tileCache->setValue(p.tileCacheMiB);
    m_loaderThreads->setValue(p.loaderThreads);
    selectDevice(p.computeDevice);
    m_computeThreads->setValue(p.computeThreads);
    m_colormap->setCurrentText(p.colormap);
}

void PreferencesDialog::selectDevice(const QString &device)
{
    int index = m_device->findData(device);
    if (index < 0) { // a CUDA device not listed (yet): keep the choice
        m_device->addItem(tr("CUDA device %1").arg(device.section(QLatin1Char(':'), 1)), device);
        index = m_device->count() - 1;
    }
    m_device->setCurrentIndex(index);
}

void PreferencesDialog::showCuda()
{
    const Cuda cuda = m_cudaWatcher.result();
    const QString chosen = m_device->currentData().toString();
    for (int i = 0; i < cuda.devices; ++i) {
        const QString device = QStringLiteral("cuda:%1").arg(i);
        if (m_device->findData(device) < 0)
            m_device->addItem(tr("CUDA device %1").arg(i), device);
    }
    selectDevice(chosen);
    m_cuda->setText(tr("CUDA: %1").arg(cuda.text));
    Q_EMIT cudaShown();
}

} // namespace icmil::ui
