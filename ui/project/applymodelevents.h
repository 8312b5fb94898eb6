// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The values File > Apply model to slides sends between the GUI and its worker thread (only
// values cross threads): what to apply to what, the job's progress and its outcome, with Qt
// strings.

#include <QMetaType>
#include <QString>
#include <QStringList>

#include <cstdint>

namespace icmil::ui {

// A model bundle as the dialog shows it (model.json), or why it cannot be used.
struct BundleDescription {
    QString path;
    QString name;
    QStringList classNames;
    QString embedder;      // "tiny-cnn (features icmil-it1)"
    QString classifier;    // "abmil"
    QString threshold;     // "0.42 on p(tumor)", or "" when the bundle has none
    QString preprocessing; // "256 px patches at level 0, tissue preset bwh_biopsy"
    QString error;         // one sentence; the rest is empty then
};

// What the dialog asks for.
struct ApplyModelRequest {
    QString bundle;     // a model bundle (.icmil)
    QStringList slides; // slide files, or one folder of slides
    QString outDir;     // becomes a project
    QString labelsCsv;  // optional
    QString device = QStringLiteral("auto");
};

// Where the job is: "tiling" and "extracting" slide by slide, then "predicting".
struct ApplyModelProgress {
    QString phase;
    int slideIndex = 0; // 0-based, of slideCount
    int slideCount = 0;
    QString slideId;
    std::int64_t patchesDone = 0; // in this slide (tiling, extracting)
    std::int64_t patchesTotal = 0;
    double patchesPerSecond = 0.0; // over the run's extracted patches so far
    double etaSeconds = -1.0;      // of the extraction; -1 while unknown
};

// How the job ended (finished or cancelled).
struct ApplyModelOutcome {
    QString outDir;
    QString predictionsCsv; // empty when cancelled
    QString modelName;
    QString device;
    int slides = 0;             // asked for
    int predicted = 0;          // with a prediction now
    QStringList failed;         // "slide_id: reason", one per slide that could not be predicted
    QStringList withoutPatches; // slide ids with no tissue patch: nothing to predict
    QStringList problems;       // entries of the slide folder that were not used
    int extracted = 0;          // slides whose features were made now
    int reused = 0;             // ... found from an earlier run
    std::int64_t patches = 0;
    double seconds = 0.0;
    QString firstSlide; // the first predicted slide's file, to show it
    bool cancelled = false;
};

} // namespace icmil::ui

Q_DECLARE_METATYPE(icmil::ui::BundleDescription)
Q_DECLARE_METATYPE(icmil::ui::ApplyModelRequest)
Q_DECLARE_METATYPE(icmil::ui::ApplyModelProgress)
Q_DECLARE_METATYPE(icmil::ui::ApplyModelOutcome)
