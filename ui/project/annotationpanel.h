// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/dataset/slidelist.h"
#include "ui/viewer/annotationlayer.h"

#include <QFutureWatcher>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <vector>

class QCheckBox;
class QLabel;
class QListWidget;

namespace icmil::ui {

// The Annotations dock: the imported annotations of the project slide shown in the viewer
// (PROJECT/annotations/<slide>.geojson, read off the GUI thread) drawn by an AnnotationLayer,
// a list of their classes (colour, count; unticked classes are hidden) and Filled (outline or
// translucent fill). File > Import annotations... runs project::importAnnotations on a pool
// thread and reports what it imported and what it could not, one line per file.
class AnnotationPanel : public QWidget {
    Q_OBJECT
public:
    explicit AnnotationPanel(AnnotationLayer *layer, QWidget *parent = nullptr);
    ~AnnotationPanel() override;

    // The slide shown (empty id: none of the project's): its annotations are loaded.
    void setSlide(const QString &projectRoot, const QString &slideId);
    QString slideId() const { return m_slideId; }
    QString status() const;

    // Imports `files` (annotation files or folders) for `slides` into the project; the shown
    // slide's annotations are loaded again afterwards.
    void importFiles(const QString &projectRoot, const QStringList &files, const std::vector<project::SlideEntry> &slides);
    bool importing() const { return m_import.isRunning(); }

    struct Loaded {
        QString slideId;
        std::vector<AnnotationLayer::Shape> shapes;
        QString status;
    };
    struct Imported {
        QStringList lines; // one per file: what was imported, or why not
        int imported = 0;
        int failed = 0;
    };

Q_SIGNALS:
    void loaded(const QString &slideId);
    void importFinished(const QString &summary, const QStringList &lines, bool allImported);

private:
    void onLoaded();
    void fillClassList();

    AnnotationLayer *m_layer;
    QString m_root;
    QString m_slideId;
    QCheckBox *m_filled = nullptr;
    QListWidget *m_classes = nullptr;
    QLabel *m_status = nullptr;
    QFutureWatcher<Loaded> m_load;
    QFutureWatcher<Imported> m_import;
};

} // namespace icmil::ui
