// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/project/annotationpanel.h"

#include "ui/project/qtpolygons.h"

#include "project/annotations/annotationimport.h"
#include "project/annotations/annotationset.h"

#include <QCheckBox>
#include <QLabel>
#include <QListWidget>
#include <QPixmap>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <filesystem>
#include <map>

namespace icmil::ui {

namespace {

std::vector<AnnotationLayer::Shape> shapesOf(const project::AnnotationSet &set)
{
    std::vector<AnnotationLayer::Shape> shapes;
    for (const project::Annotation &a : set.annotations) {
        AnnotationLayer::Shape shape;
        shape.className = QString::fromStdString(a.className);
        if (a.colour)
            shape.colour = QColor((*a.colour)[0], (*a.colour)[1], (*a.colour)[2]);
        shape.exclusion = a.kind == project::Annotation::Kind::Exclusion;
        shape.polygons = toQtPolygons(a.polygons);
        shapes.push_back(std::move(shape));
    }
    return shapes;
}

} // namespace

AnnotationPanel::AnnotationPanel(AnnotationLayer *layer, QWidget *parent) : QWidget(parent), m_layer(layer)
{
    m_filled = new QCheckBox(tr("Filled"));
    m_filled->setObjectName(QStringLiteral("annotationsFilled"));
    m_classes = new QListWidget;
    m_classes->setObjectName(QStringLiteral("annotationClasses"));
    m_status = new QLabel(tr("No slide of the project is shown."));
    m_status->setObjectName(QStringLiteral("annotationStatus"));
    m_status->setWordWrap(true);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_status);
    layout->addWidget(m_classes, 1);
    layout->addWidget(m_filled);
    connect(m_filled, &QCheckBox::toggled, m_layer, &AnnotationLayer::setFilled);
    connect(m_classes, &QListWidget::itemChanged, this, [this](QListWidgetItem *item) {
        m_layer->setClassVisible(item->data(Qt::UserRole).toString(), item->checkState() == Qt::Checked);
    });
    connect(&m_load, &QFutureWatcher<Loaded>::finished, this, &AnnotationPanel::onLoaded);
    connect(&m_import, &QFutureWatcher<Imported>::finished, this, [this] {
        const Imported result = m_import.result();
        const QString summary = tr("Imported annotations from %1 of %2 file(s)").arg(result.imported).arg(result.imported + result.failed);
        setSlide(m_root, m_slideId); // the shown slide may have new ones
        Q_EMIT importFinished(summary, result.lines, result.failed == 0);
    });
}

AnnotationPanel::~AnnotationPanel()
{
    m_load.waitForFinished();
    m_import.waitForFinished();
}

QString AnnotationPanel::status() const
{
    return m_status->text();
}

void AnnotationPanel::setSlide(const QString &projectRoot, const QString &slideId)
{
    m_root = projectRoot;
    m_slideId = slideId;
    m_layer->clear();
    m_classes->clear();
    if (slideId.isEmpty() || projectRoot.isEmpty()) {
        m_status->setText(tr("No slide of the project is shown."));
        return;
    }
    const std::filesystem::path file = project::annotationFile(projectRoot.toStdString(), slideId.toStdString());
    m_load.setFuture(QtConcurrent::run([file, slideId] {
        Loaded loaded;
        loaded.slideId = slideId;
        std::error_code ec;
        if (!std::filesystem::exists(file, ec)) {
            loaded.status = QObject::tr("No annotations for %1 (File > Import annotations...).").arg(slideId);
            return loaded;
        }
        try {
            const project::AnnotationSet set = project::readProjectAnnotations(file);
            loaded.shapes = shapesOf(set);
            loaded.status = QObject::tr("%n annotation(s) on %1", nullptr, static_cast<int>(set.annotations.size())).arg(slideId);
        } catch (const std::exception &error) {
            loaded.status = QString::fromUtf8(error.what());
        }
        return loaded;
    }));
}

void AnnotationPanel::onLoaded()
{
    const Loaded result = m_load.result();
    if (result.slideId != m_slideId)
        return; // another slide is shown by now
    m_layer->setShapes(result.shapes);
    m_status->setText(result.status);
    fillClassList();
    Q_EMIT loaded(result.slideId);
}

void AnnotationPanel::fillClassList()
{
    const QSignalBlocker blocker(m_classes);
    m_classes->clear();
    for (const QString &name : m_layer->classNames()) {
        auto *item = new QListWidgetItem(name, m_classes);
        QPixmap swatch(12, 12);
        swatch.fill(m_layer->classColour(name));
        item->setIcon(QIcon(swatch));
        item->setData(Qt::UserRole, name);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(m_layer->classVisible(name) ? Qt::Checked : Qt::Unchecked);
    }
}

void AnnotationPanel::importFiles(const QString &projectRoot, const QStringList &files, const std::vector<project::SlideEntry> &slides)
{
    m_import.setFuture(QtConcurrent::run([root = projectRoot.toStdString(), files, slides] {
        Imported result;
        for (const QString &file : files) {
            try {
                const project::AnnotationImportReport report = project::importAnnotations(root, file.toStdString(), slides);
                for (const project::AnnotationImportEntry &e : report.entries) {
                    const QString name = QString::fromStdString(e.file.filename().string());
                    if (e.imported) {
                        ++result.imported;
                        result.lines << QObject::tr("%1: %n annotation(s) for %2", nullptr, static_cast<int>(e.annotations))
                                            .arg(name, QString::fromStdString(e.slideId));
                    } else {
                        ++result.failed;
                        result.lines << QObject::tr("%1: %2").arg(name, QString::fromStdString(e.reason));
                    }
                }
            } catch (const std::exception &error) {
                ++result.failed;
                result.lines << QString::fromUtf8(error.what());
            }
        }
        return result;
    }));
}

} // namespace icmil::ui
