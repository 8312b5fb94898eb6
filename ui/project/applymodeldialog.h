// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/project/applymodelevents.h"

#include <QDialog>
#include <QFutureWatcher>
#include <QThread>
#include <QTimer>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace icmil::ui {

class ApplyModelWorker;

// File > Apply model to slides: a model bundle (.icmil, `icmil export-model`) applied to new
// slides in one step, as `icmil predict --model` does. The user picks the bundle, the slides
// (files or a folder), the output folder (by default "<bundle name>-predictions" next to the
// slides), the device and an optional labels CSV; the bundle's model.json is read off the GUI
// thread as it is chosen (loading LibTorch) and shown: name, classes, embedder, threshold,
// preprocessing. Apply runs the job on the worker's thread ("icmil-apply-model") with a progress
// bar (slide i of n, patches/s, time left) and a Cancel button; then the dialog shows what came
// of it (predicted n of m, every slide that failed and why; a cancelled run apart) and, when
// slides were predicted, emits projectReady: the output folder is a project the main window
// opens. Closing the dialog while the job runs cancels it.
class ApplyModelDialog : public QDialog {
    Q_OBJECT
public:
    explicit ApplyModelDialog(QWidget *parent = nullptr);
    ~ApplyModelDialog() override;

    void setBundle(const QString &path);
    void setSlides(const QStringList &slides); // slide files, or one folder
    void setOutputFolder(const QString &path); // the user's choice: no longer follows the inputs
    void setLabelsCsv(const QString &path);
    void setDevice(const QString &device); // "auto", "cpu", "cuda"
    QStringList slides() const;
    QString outputFolder() const;

    // The bundle as last read (its error when it is not one), and whether a read is under way.
    const BundleDescription &bundle() const { return m_bundle; }
    bool isReadingBundle() const { return m_bundleWatcher.isRunning() || m_reread.isActive(); }
    bool canApply() const;
    bool isRunning() const { return m_running; }
    void apply();  // what Apply does
    void cancel(); // what Cancel does while the job runs
    ApplyModelWorker *worker() const { return m_worker; }
    QProgressBar *progressBar() const { return m_progress; }
    QString progressText() const;
    QString statusText() const; // the one-line state: an error, or what is missing
    QString summary() const;    // what the last run came to

    // "<parent of the slides folder>/<bundle stem>-predictions" for a folder, the slides' own
    // folder for files (a path with a slide file's extension is a file, anything else a folder).
    static QString defaultOutputFolder(const QString &bundle, const QStringList &slides);

Q_SIGNALS:
    void bundleRead(); // bundle() is the new one
    void applyFinished(const icmil::ui::ApplyModelOutcome &outcome);
    void applyCancelled(const icmil::ui::ApplyModelOutcome &outcome);
    void applyFailed(const QString &message);
    // The output folder holds predictions: open it as a project (showing `firstSlide`).
    void projectReady(const QString &outDir, const QString &firstSlide);

protected:
    void reject() override; // while the job runs: cancels it and closes once it has stopped

private:
    void readBundle();
    void onBundleRead();
    void updateOutput();
    void updateState();
    void setRunning(bool running);
    void onProgress(const ApplyModelProgress &progress);
    void onFinished(const ApplyModelOutcome &outcome);
    void onCancelled(const ApplyModelOutcome &outcome);
    void onFailed(const QString &message);
    void chooseSlideFiles();
    void chooseSlidesFolder();
    void browse(QLineEdit *edit, const QString &title, const QString &filter); // a file

    QLineEdit *m_bundleEdit = nullptr;
    QLineEdit *m_slidesEdit = nullptr;
    QLineEdit *m_outputEdit = nullptr;
    QLineEdit *m_labelsEdit = nullptr;
    QComboBox *m_device = nullptr;
    QLabel *m_info = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_progressLabel = nullptr;
    QPlainTextEdit *m_summary = nullptr;
    QLabel *m_status = nullptr;
    QDialogButtonBox *m_buttons = nullptr;
    QPushButton *m_apply = nullptr;
    QPushButton *m_cancel = nullptr;
    QList<QWidget *> m_inputs; // disabled while the job runs

    QTimer m_reread; // typing: read the bundle once it pauses
    QFutureWatcher<BundleDescription> m_bundleWatcher;
    BundleDescription m_bundle;
    bool m_outputChosen = false; // the user set the output folder
    QThread m_thread;
    ApplyModelWorker *m_worker = nullptr;
    bool m_running = false;
    bool m_closeWhenStopped = false;
    QString m_error;
    QStringList m_messages; // the job's messages (a smaller batch after running out of memory, ...)
};

} // namespace icmil::ui
