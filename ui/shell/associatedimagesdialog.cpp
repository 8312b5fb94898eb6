// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/associatedimagesdialog.h"

#include "slide/io/slidesource.h"
#include "ui/viewer/paintableimage.h"
#include "ui/shell/slideinfoloader.h"

#include <QDialogButtonBox>
#include <QFileInfo>
#include <QLabel>
#include <QPainter>
#include <QTabWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <exception>

namespace icmil::ui {

namespace {

// A picture drawn as large as its tab allows, whole and in proportion, never above its own size.
class FittedPicture : public QWidget {
public:
    explicit FittedPicture(QImage image) : m_image(std::move(image))
    {
        setObjectName(QStringLiteral("fittedPicture"));
        setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored);
        setMinimumSize(64, 64);
    }
    QSize sizeHint() const override { return m_image.size(); }
    QRect pictureRect() const
    {
        QSize fitted = m_image.size();
        if (fitted.width() > width() || fitted.height() > height())
            fitted.scale(size(), Qt::KeepAspectRatio);
        return QRect(QPoint((width() - fitted.width()) / 2, (height() - fitted.height()) / 2), fitted);
    }

protected:
    void paintEvent(QPaintEvent *) override
    {
        QPainter painter(this);
        painter.setRenderHint(QPainter::SmoothPixmapTransform);
        painter.drawImage(pictureRect(), m_image);
    }

private:
    QImage m_image;
};

} // namespace

AssociatedImagesDialog::AssociatedImagesDialog(std::shared_ptr<const slide::SlideSource> source, QWidget *parent) : QDialog(parent)
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
        if (picture.error.isEmpty()) {
            auto *fitted = new FittedPicture(picture.image);
            fitted->setToolTip(tr("%1 x %2 pixels").arg(picture.original.width()).arg(picture.original.height()));
            m_tabs->addTab(fitted, picture.name);
        } else {
            auto *label = new QLabel(picture.error);
            label->setAlignment(Qt::AlignCenter);
            label->setWordWrap(true);
            m_tabs->addTab(label, picture.name);
        }
    }
    m_tabs->show();
    Q_EMIT loaded();
}

} // namespace icmil::ui
