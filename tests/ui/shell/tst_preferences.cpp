// SPDX-License-Identifier: GPL-3.0-or-later
// Preferences: defaults, a round trip through QSettings, stored values that cannot be right fall
// back to their defaults; the dialog shows, edits, restores and saves them and lists CUDA as the
// engine sees it; the window applies them to the viewer, LibTorch's threads, training's device
// and the heatmap colours.
#include "engine/runtime/runtimeinfo.h"
#include "project/backend/torchbackend.h"
#include "ui/attention/heatmappanel.h"
#include "ui/shell/mainwindow.h"
#include "ui/shell/preferences.h"
#include "ui/shell/preferencesdialog.h"
#include "ui/project/projectworkspace.h"
#include "ui/training/trainingpanel.h"
#include "ui/viewer/attentionheatmap.h"
#include "ui/viewer/slideviewer.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QtTest>

using namespace icmil;

namespace {

ui::Preferences custom()
{
    ui::Preferences p;
    p.tileCacheMiB = 1024;
    p.loaderThreads = 3;
    p.computeDevice = QStringLiteral("cpu");
    p.computeThreads = 1;
    p.colormap = QStringLiteral("turbo");
    return p;
}

} // namespace

class TstPreferences : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ICMIL Studio tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_preferences"));
    }

    void init() { QSettings().clear(); }
    void cleanup() { project::setComputeThreads(0); }

    void defaultsWhenNothingIsStored()
    {
        const ui::Preferences p = ui::Preferences::load();
        QVERIFY(p == ui::Preferences{});
        QCOMPARE(p.tileCacheMiB, 512);
        QCOMPARE(p.computeDevice, QStringLiteral("auto"));
        QCOMPARE(p.colormap, QStringLiteral("viridis"));
    }

    void roundTrip()
    {
        custom().save();
        QVERIFY(ui::Preferences::load() == custom());
        QCOMPARE(QSettings().value(QStringLiteral("viewer/cacheBudgetMiB")).toInt(), 1024);
    }

    void impossibleStoredValuesFallBackToDefaults()
    {
        {
            QSettings settings;
            settings.setValue(QStringLiteral("viewer/cacheBudgetMiB"), QStringLiteral("lots"));
            settings.setValue(QStringLiteral("viewer/loaderThreads"), -1);
            settings.setValue(QStringLiteral("compute/device"), QStringLiteral("gpu0"));
            settings.setValue(QStringLiteral("compute/threads"), 99999);
            settings.setValue(QStringLiteral("heatmap/colormap"), QStringLiteral("rainbow"));
        }
        QVERIFY(ui::Preferences::load() == ui::Preferences{});
        QSettings().setValue(QStringLiteral("viewer/cacheBudgetMiB"), 10); // under the minimum
        QCOMPARE(ui::Preferences::load().tileCacheMiB, 512);
        // Spellings the engine accepts are kept, in its canonical form.
        QSettings().setValue(QStringLiteral("compute/device"), QStringLiteral("CUDA"));
        QCOMPARE(ui::Preferences::load().computeDevice, QStringLiteral("cuda:0"));
    }

    void dialogEditsRestoresAndSaves()
    {
        ui::PreferencesDialog dialog(ui::Preferences{});
        dialog.show();
        QSignalSpy cuda(&dialog, &ui::PreferencesDialog::cudaShown);
        QVERIFY(cuda.wait(20000));
        const engine::RuntimeInfo info = project::torchBackend().runtimeInfo();
        QCOMPARE(dialog.findChild<QLabel *>(QStringLiteral("cudaStatus"))->text(),
                 QStringLiteral("CUDA: ") + QString::fromStdString(engine::describeCuda(info)));
        auto *device = dialog.findChild<QComboBox *>(QStringLiteral("device"));
        QCOMPARE(device->count(), 2 + (info.cudaAvailable ? info.cudaDeviceCount : 0));

        dialog.findChild<QSpinBox *>(QStringLiteral("tileCache"))->setValue(1024);
        dialog.findChild<QSpinBox *>(QStringLiteral("loaderThreads"))->setValue(3);
        device->setCurrentIndex(device->findData(QStringLiteral("cpu")));
        dialog.findChild<QSpinBox *>(QStringLiteral("computeThreads"))->setValue(1);
        dialog.findChild<QComboBox *>(QStringLiteral("colormap"))->setCurrentText(QStringLiteral("turbo"));
        QVERIFY(dialog.preferences() == custom());

        auto *buttons = dialog.findChild<QDialogButtonBox *>();
        QTest::mouseClick(buttons->button(QDialogButtonBox::RestoreDefaults), Qt::LeftButton);
        QVERIFY(dialog.preferences() == ui::Preferences{});
        dialog.setPreferences(custom());
        QTest::mouseClick(buttons->button(QDialogButtonBox::Ok), Qt::LeftButton);
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
        QVERIFY(ui::Preferences::load() == custom());
    }

    void dialogKeepsACudaDeviceItDoesNotList()
    {
        ui::Preferences p;
        p.computeDevice = QStringLiteral("cuda:3");
        ui::PreferencesDialog dialog(p);
        QSignalSpy cuda(&dialog, &ui::PreferencesDialog::cudaShown);
        QVERIFY(cuda.wait(20000));
        QCOMPARE(dialog.preferences().computeDevice, QStringLiteral("cuda:3"));
        QCOMPARE(dialog.findChild<QComboBox *>(QStringLiteral("device"))->currentText(), QStringLiteral("CUDA device 3"));
    }

    void windowAppliesThem()
    {
        custom().save();
        ui::MainWindow window; // applies the stored preferences when it is made
        QCOMPARE(window.viewer()->cacheBudget(), std::int64_t{1024} << 20);
        QCOMPARE(window.viewer()->loaderThreads(), 3);
        QCOMPARE(project::torchBackend().runtimeInfo().intraOpThreads, 1);
        QCOMPARE(window.workspace()->heatmapPanel()->settings().colormap.name(), QStringLiteral("turbo"));
        QCOMPARE(window.workspace()->trainingPanel()->settings().device, std::string("cpu"));

        ui::Preferences changed = custom();
        changed.tileCacheMiB = 256;
        changed.computeThreads = 0;
        changed.computeDevice = QStringLiteral("cuda:1");
        changed.colormap = QStringLiteral("jet");
        window.applyPreferences(changed);
        QCOMPARE(window.viewer()->cacheBudget(), std::int64_t{256} << 20);
        QCOMPARE(project::torchBackend().runtimeInfo().intraOpThreads, std::max(1, QThread::idealThreadCount()));
        QCOMPARE(window.workspace()->heatmapPanel()->settings().colormap.name(), QStringLiteral("jet"));
        QCOMPARE(window.workspace()->trainingPanel()->settings().device, std::string("cuda:1"));
    }
};

QTEST_MAIN(TstPreferences)
#include "tst_preferences.moc"
