"""List the routers of every page area, in the order the app mounts them."""

from __future__ import annotations

from fastapi import APIRouter

from onpace.web import pages
from onpace.web.admin import accounts, model_edit
from onpace.web.cases import routes as cases
from onpace.web.overview import routes as overview
from onpace.web.review import routes as review
from onpace.web.scorecard import routes as scorecard
from onpace.web.subjects import approvals, plans
from onpace.web.subjects import routes as subjects

ROUTERS: tuple[APIRouter, ...] = (
    pages.router,
    overview.router,
    scorecard.router,
    subjects.router,
    plans.router,
    approvals.router,
    cases.router,
    review.router,
    model_edit.router,
    accounts.router,
)
