#include "ui/associatedimagesdialog.h"

#include "slide/slidesource.h"
#include "ui/paintableimage.h"
#include "ui/slideinfoloader.h"

#include <QDialogButtonBox>
#include <QFileInfo>
#include <QLabel>
#include <QPixmap>
#include <QScrollArea>
#include <QTabWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <exception>

namespace icmil::ui {

AssociatedImagesDialog::AssociatedImagesDialog(std::shared_ptr<const slide::SlideSource> source, QWidget *parent)
    : QDialog(parent)
{
    setObjectName(QStringLiteral("associatedImages"));
    const QString file = source ? QFileInfo(QString::fromStdString(source->path().string())).fileName() : QString();
    setWindowTitle(tr("Associated images - %1").arg(file));
    auto *layout = new QVBoxLayout(this);
    m_status = new QLabel(tr("Reading associated images..."), this);
    m_tabs = new QTabWidget(this);
    m_tabs->hide();
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(m_status);
    layout->addWidget(m_tabs, 1);
    layout->addWidget(buttons);
    resize(720, 560);

    connect(&m_watcher, &QFutureWatcher<QList<Picture>>::finished, this, [this] { showPictures(m_watcher.result()); });
    if (!source) {
        showPictures({});
        return;
    }
    // The worker holds its own reference: closing the dialog early leaves it harmless.
    m_watcher.setFuture(QtConcurrent::run([source] { return readAll(*source); }));
}

QStringList AssociatedImagesDialog::names() const
{
    QStringList result;
    for (int i = 0; i < m_tabs->count(); ++i)
        result.append(m_tabs->tabText(i));
    return result;
}

QList<AssociatedImagesDialog::Picture> AssociatedImagesDialog::readAll(const slide::SlideSource &source)
{
    QList<Picture> pictures;
    for (const std::string &name : source.metadata().associatedImages) {
        Picture picture;
        picture.name = QString::fromStdString(name);
        try {
            QImage image = toPaintableImage(source.readAssociatedImage(name));
            picture.original = image.size();
            if (image.width() > kMaxEdge || image.height() > kMaxEdge)
                image = image.scaled(kMaxEdge, kMaxEdge, Qt::KeepAspectRatio, Qt::SmoothTransformation);
            picture.image = image;
        } catch (const std::exception &e) {
            picture.error = QString::fromStdString(e.what());
        }
        pictures.append(picture);
    }
    return pictures;
}

void AssociatedImagesDialog::showPictures(const QList<Picture> &pictures)
{
    if (pictures.isEmpty()) {
        m_status->setText(tr("This slide has no associated images (label, macro, thumbnail)."));
        Q_EMIT loaded();
        return;
    }
    m_status->hide();
    for (const Picture &picture : pictures) {
        auto *label = new QLabel;
        label->setAlignment(Qt::AlignCenter);
        if (picture.error.isEmpty()) {
            label->setPixmap(QPixmap::fromImage(picture.image));
            label->setToolTip(tr("%1 x %2 pixels").arg(picture.original.width()).arg(picture.original.height()));
        } else {
            label->setText(picture.error);
            label->setWordWrap(true);
        }
        auto *scroll = new QScrollArea;
        scroll->setWidget(label);
        scroll->setWidgetResizable(true);
        m_tabs->addTab(scroll, picture.name);
    }
    m_tabs->show();
    Q_EMIT loaded();
}

} // namespace icmil::ui
