// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/welcomepage.h"

#include "project/demorecipe.h"

#include <QDir>
#include <QHBoxLayout>
#include <QIcon>
#include <QLabel>
#include <QPushButton>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

namespace icmil::ui {

namespace {

// A large button: an icon, a title and a line under it.
QToolButton *choice(const QString &objectName, QStyle::StandardPixmap icon, const QString &title, const QString &detail, QWidget *parent)
{
    auto *button = new QToolButton(parent);
    button->setObjectName(objectName);
    button->setIcon(parent->style()->standardIcon(icon));
    button->setIconSize(QSize(40, 40));
    button->setToolButtonStyle(Qt::ToolButtonTextUnderIcon);
    button->setMinimumSize(230, 120);
    button->setText(title + QLatin1Char('\n') + detail);
    button->setToolTip(detail);
    button->setAutoRaise(false);
    return button;
}

} // namespace

WelcomePage::WelcomePage(QWidget *parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("welcomePage"));
    auto *logo = new QLabel(this);
    logo->setPixmap(QIcon(QStringLiteral(":/icmil/icmil-studio.svg")).pixmap(96, 96));
    logo->setAlignment(Qt::AlignCenter);
    auto *title = new QLabel(tr("<h1>Welcome to ICMIL Studio</h1>"), this);
    title->setAlignment(Qt::AlignCenter);
    auto *intro = new QLabel(tr("Browse whole-slide images, label slides with multiple-instance learning and see where "
                                "the model looks. Start with a slide, a project of your own or the demo."),
                             this);
    intro->setAlignment(Qt::AlignCenter);
    intro->setWordWrap(true);

    QToolButton *openSlide = choice(QStringLiteral("openSlideButton"), QStyle::SP_DialogOpenButton, tr("Open slide..."),
                                    tr("View a slide (.svs, .tiff, .ndpi, ...)"), this);
    QToolButton *newProject = choice(QStringLiteral("newProjectButton"), QStyle::SP_FileDialogNewFolder, tr("New project..."),
                                     tr("A slides folder and a labels CSV"), this);
    QToolButton *demo = choice(QStringLiteral("demoButton"), QStyle::SP_MediaPlay, tr("Try the demo"),
                               tr("%n synthetic slide(s), ready to train", nullptr, project::demoRecipe({}).dataset.slides), this);
    auto *openProject = new QPushButton(tr("Open project..."), this);
    openProject->setObjectName(QStringLiteral("openProjectButton"));
    m_reopen = new QPushButton(this);
    m_reopen->setObjectName(QStringLiteral("reopenButton"));
    m_reopen->hide();

    auto *choices = new QHBoxLayout;
    choices->addStretch(1);
    for (QToolButton *button : {openSlide, newProject, demo})
        choices->addWidget(button);
    choices->addStretch(1);
    auto *more = new QHBoxLayout;
    more->addStretch(1);
    more->addWidget(openProject);
    more->addWidget(m_reopen);
    more->addStretch(1);
    auto *hint = new QLabel(tr("You can also drop a slide file onto this window."), this);
    hint->setAlignment(Qt::AlignCenter);
    hint->setEnabled(false);

    auto *layout = new QVBoxLayout(this);
    layout->addStretch(2);
    layout->addWidget(logo);
    layout->addWidget(title);
    layout->addWidget(intro);
    layout->addSpacing(24);
    layout->addLayout(choices);
    layout->addSpacing(12);
    layout->addLayout(more);
    layout->addSpacing(12);
    layout->addWidget(hint);
    layout->addStretch(3);

    connect(openSlide, &QToolButton::clicked, this, &WelcomePage::openSlideRequested);
    connect(newProject, &QToolButton::clicked, this, &WelcomePage::newProjectRequested);
    connect(demo, &QToolButton::clicked, this, &WelcomePage::demoRequested);
    connect(openProject, &QPushButton::clicked, this, &WelcomePage::openProjectRequested);
    connect(m_reopen, &QPushButton::clicked, this, [this] { Q_EMIT reopenRequested(m_lastProject); });
}

void WelcomePage::setLastProject(const QString &root)
{
    m_lastProject = root;
    m_reopen->setVisible(!root.isEmpty());
    m_reopen->setText(tr("Reopen %1").arg(QDir(root).dirName()));
    m_reopen->setToolTip(QDir::toNativeSeparators(root));
}

} // namespace icmil::ui
