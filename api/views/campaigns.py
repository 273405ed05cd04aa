"""Campaigns, their steps and attempts, and prompts: every button of the campaign pages.

Reads go through campaigns.selectors (a vendor sees its own manufacturer's campaigns, anything
else is a 404); every action calls campaigns.services, which holds the rules."""

from __future__ import annotations

from dataclasses import asdict

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import form_errors
from api.serializers.campaigns import (
    ApplicabilitySerializer,
    AttemptDetailSerializer,
    AttemptSerializer,
    AuditEntrySerializer,
    CampaignCreateSerializer,
    CampaignDetailSerializer,
    CampaignSerializer,
    EndWaitSerializer,
    PromptAnswerSerializer,
    PromptSerializer,
    ReopenSerializer,
    RunAllRequestSerializer,
    RunAllSerializer,
    StepSerializer,
    TestFunctionSerializer,
    VerdictSerializer,
)
from campaigns import compare, run_all, selectors, services, vendor
from campaigns.engine.params import PARAMETERS
from campaigns.forms import CampaignForm
from campaigns.models import CampaignStatus, PlanItem, Prompt
from stations import selectors as station_selectors

STEP_PATH = r"steps/(?P<number>[0-9]+)"


def _valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _form_value(name: str, value):
    """A JSON value as the form's fields read a POST: a parameter's yes/no choice, no None."""
    if value is None:
        return ""
    if name in PARAMETERS and isinstance(value, bool):
        return "yes" if value else "no"
    return value


class CatalogueViewSet(viewsets.ViewSet):
    """The test catalogue the campaigns run: its functions and their criteria."""

    @extend_schema(responses=TestFunctionSerializer(many=True))
    def list(self, request: Request) -> Response:
        version = services.catalogue_current()
        functions = version.functions.prefetch_related("criteria")
        return Response(
            {
                "version": version.version,
                "title": version.title,
                "functions": TestFunctionSerializer(functions, many=True).data,
            }
        )


@extend_schema(
    parameters=[
        OpenApiParameter("station", int, description="Only this station's campaigns."),
        OpenApiParameter("status", str, enum=CampaignStatus.values),
    ]
)
class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CampaignSerializer

    def get_queryset(self):
        campaigns = selectors.campaigns_for(user=self.request.user)
        if self.action != "list":
            return campaigns
        params = self.request.query_params
        if station := params.get("station"):
            if not station.isdigit():
                raise NotFound
            campaigns = campaigns.filter(station_id=station)
        if (wanted := params.get("status")) in CampaignStatus.values:
            campaigns = campaigns.filter(status=wanted)
        return campaigns

    @extend_schema(responses=CampaignDetailSerializer)
    def retrieve(self, request: Request, pk=None) -> Response:
        campaign = self.get_object()
        context = {
            **self.get_serializer_context(),
            "rows": selectors.report_rows(campaign=campaign),
        }
        return Response(CampaignDetailSerializer(campaign, context=context).data)

    @extend_schema(request=CampaignCreateSerializer, responses={201: CampaignDetailSerializer})
    def create(self, request: Request) -> Response:
        """A new campaign with every function planned, validated as the new-campaign form."""
        given = _valid(CampaignCreateSerializer, request)
        data = {k: _form_value(k, v) for k, v in given.items()}
        form = CampaignForm(
            data,
            stations=station_selectors.stations_for(user=request.user),
            firmware=station_selectors.firmware_versions_for(user=request.user),
        )
        if not form.is_valid():
            raise form_errors(form)
        campaign = services.campaign_create(
            station=form.cleaned_data["station"],
            owner=request.user,
            firmware=form.cleaned_data["firmware"],
            update_firmware=form.cleaned_data["update_firmware"],
            parameters=form.parameters(),
            notes=form.cleaned_data["notes"],
            strict=form.cleaned_data["strict"],
        )
        context = {
            **self.get_serializer_context(),
            "rows": selectors.report_rows(campaign=campaign),
        }
        return Response(CampaignDetailSerializer(campaign, context=context).data, status=201)

    def _done(self, campaign) -> Response:
        campaign.refresh_from_db()
        return Response(self.get_serializer(campaign).data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk=None) -> Response:
        campaign = self.get_object()
        services.campaign_complete(campaign=campaign, user=request.user)
        return self._done(campaign)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request: Request, pk=None) -> Response:
        campaign = self.get_object()
        services.campaign_sign_off(campaign=campaign, user=request.user)
        return self._done(campaign)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def share(self, request: Request, pk=None) -> Response:
        """Show the campaign to its vendor (until then a 404 for them too); 400 when shared."""
        campaign = self.get_object()
        vendor.campaign_share(campaign=campaign, user=request.user)
        return self._done(campaign)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def unshare(self, request: Request, pk=None) -> Response:
        """Take the campaign back from its vendor; a signed-off one stays theirs (400)."""
        campaign = self.get_object()
        vendor.campaign_unshare(campaign=campaign, user=request.user)
        return self._done(campaign)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def acknowledge(self, request: Request, pk=None) -> Response:
        """The vendor acknowledges its signed-off report (``vendor_acknowledged``, ``…_by``):
        once, by a user of the campaign's manufacturer; 400 before the sign-off, a second time
        and for QA. The one campaign write a vendor may make."""
        campaign = self.get_object()
        vendor.campaign_acknowledge(campaign=campaign, user=request.user)
        return self._done(campaign)

    @extend_schema(request=ReopenSerializer, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk=None) -> Response:
        """A completed campaign back to running, so that steps can be retested. A signed-off
        one too, but only with a ``reason`` (400 without): recorded in its history, and its
        report's revision raised."""
        campaign = self.get_object()
        reason = _valid(ReopenSerializer, request)["reason"]
        if campaign.is_signed_off:
            services.campaign_reopen_signed_off(campaign=campaign, user=request.user, reason=reason)
        else:
            services.campaign_reopen(campaign=campaign, user=request.user, reason=reason)
        return self._done(campaign)

    @extend_schema(methods=["GET"], request=None, responses={200: RunAllSerializer, 404: None})
    @extend_schema(
        methods=["POST"], request=RunAllRequestSerializer, responses={201: RunAllSerializer}
    )
    @action(detail=True, methods=["get", "post"], url_path="run-all")
    def run_all(self, request: Request, pk=None) -> Response:
        """GET: the campaign's latest run of all remaining steps (404 when it never had one).
        POST: run the planned steps without a final verdict (or ``steps``) one after the other
        on the station, the first one now; 409 when the station is running another attempt."""
        campaign = self.get_object()
        if request.method == "GET":
            sequence = run_all.run_all_current(campaign=campaign)
            if sequence is None:
                raise NotFound("This campaign never ran all its steps.")
            return Response(RunAllSerializer(sequence).data)
        numbers = _valid(RunAllRequestSerializer, request).get("steps")
        sequence = run_all.campaign_run_all(campaign=campaign, user=request.user, numbers=numbers)
        return Response(RunAllSerializer(sequence).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=RunAllSerializer)
    @action(detail=True, methods=["post"], url_path="run-all/stop")
    def run_all_stop(self, request: Request, pk=None) -> Response:
        """Stop the running sequence and abort its running step (it keeps what it saw)."""
        campaign = self.get_object()
        sequence = run_all.run_all_current(campaign=campaign)
        if sequence is None:
            raise NotFound("This campaign never ran all its steps.")
        run_all.campaign_run_all_stop(run_all=sequence, user=request.user)
        sequence.refresh_from_db()
        return Response(RunAllSerializer(sequence).data)

    @extend_schema(responses=AuditEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk=None) -> Response:
        """Every change to what the report says, newest first, paginated: who (``actor``, None
        when CertLab acted), when, what, before, after and why. A vendor: not the lab-only ones."""
        entries = selectors.history_for(campaign=self.get_object(), user=request.user)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], url_path=r"compare/(?P<other>\d+)")
    def compare(self, request: Request, pk=None, other=None) -> Response:
        """This campaign compared with ``other`` of the same charger model, as the comparison
        page shows it (the older is ``a``): verdicts per step, step 4's configuration keys
        added, removed or changed, and measured figures ("not measured" where one campaign has
        none). 400 for the campaign itself or another model; 404 for one the user may not see."""
        campaign = self.get_object()
        chosen = get_object_or_404(self.get_queryset(), pk=other)
        try:
            a, b = compare.campaign_pair(campaign, chosen)
        except ValidationError as error:
            return Response({"detail": error.messages[0]}, status=400)
        result = compare.campaign_compare(a=a, b=b)
        configuration = result.configuration
        return Response({
            "a": a.pk, "b": b.pk,
            "steps": [{**asdict(step), "changed": step.changed} for step in result.steps],
            "configuration": {
                "compared": configuration.compared, "listed_a": configuration.listed_a,
                "listed_b": configuration.listed_b, "unchanged": configuration.unchanged,
                "changes": [{**asdict(c), "what": c.what} for c in configuration.changes],
            },
            "measures": [asdict(measure) for measure in result.measures],
        })  # fmt: skip

    # --- one step of the campaign: /campaigns/<id>/steps/<number>/... ---------------------
    def _plan_item(self, number: str) -> PlanItem:
        campaign = self.get_object()
        return get_object_or_404(
            PlanItem.objects.select_related("function", "campaign__station"),
            campaign=campaign,
            function__number=int(number),
        )

    def _step(self, item: PlanItem) -> dict:
        rows = selectors.report_rows(campaign=item.campaign)
        row = next(r for r in rows if r.item.pk == item.pk)
        return StepSerializer(row).data

    @extend_schema(responses=StepSerializer)
    @action(detail=True, methods=["get"], url_path=STEP_PATH)
    def step(self, request: Request, pk=None, number=None) -> Response:
        return Response(self._step(self._plan_item(number)))

    @extend_schema(request=ApplicabilitySerializer, responses=StepSerializer)
    @action(detail=True, methods=["post"], url_path=STEP_PATH + "/plan")
    def plan(self, request: Request, pk=None, number=None) -> Response:
        """Mark the step planned, not applicable or not supported by the lab (with a reason)."""
        item = self._plan_item(number)
        services.plan_item_set_applicability(
            plan_item=item, user=request.user, **_valid(ApplicabilitySerializer, request)
        )
        return Response(self._step(item))

    @extend_schema(request=None, responses={201: AttemptSerializer})
    @action(detail=True, methods=["post"], url_path=STEP_PATH + "/run")
    def run(self, request: Request, pk=None, number=None) -> Response:
        """Queue a new attempt of the step (a retest when it ran before); 409 when the station
        is already running one."""
        attempt = services.attempt_start(plan_item=self._plan_item(number), user=request.user)
        return Response(AttemptSerializer(attempt).data, status=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[
        OpenApiParameter("campaign", int),
        OpenApiParameter("station", int),
        OpenApiParameter("step", int),
        OpenApiParameter("active", bool),
    ]
)
class AttemptViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AttemptSerializer

    def get_queryset(self):
        attempts = selectors.attempts_for(user=self.request.user).order_by("-pk")
        if self.action == "retrieve":
            return attempts.prefetch_related(
                "criterion_results__criterion",
                "checks__criterion",
                "prompts__answered_by",
                "progress",
            )
        params = self.request.query_params
        for name, lookup in (
            ("campaign", "plan_item__campaign_id"),
            ("station", "station_id"),
            ("step", "plan_item__function__number"),
        ):
            if value := params.get(name):
                if not value.isdigit():
                    raise NotFound
                attempts = attempts.filter(**{lookup: value})
        if params.get("active") in ("1", "true", "yes"):
            attempts = attempts.filter(status__in=["queued", "running"])
        return attempts

    @extend_schema(responses=AttemptDetailSerializer)
    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(
            AttemptDetailSerializer(self.get_object(), context={"request": request}).data
        )

    @extend_schema(request=None, responses=AttemptSerializer)
    @action(detail=True, methods=["post"])
    def abort(self, request: Request, pk=None) -> Response:
        """Stop the attempt at once (it keeps what it saw); an attempt that ended stays as is."""
        attempt = self.get_object()
        services.attempt_abort(attempt=attempt)
        attempt.refresh_from_db()
        return Response(AttemptSerializer(attempt).data)

    @extend_schema(request=EndWaitSerializer, responses=AttemptSerializer)
    @action(detail=True, methods=["post"], url_path="end-wait")
    def end_wait(self, request: Request, pk=None) -> Response:
        """Give up on the long wait the attempt is in (``waiting``, by its id): the step ends
        and what the wait was for is not observed. A wait that is over is refused (400)."""
        attempt = self.get_object()
        services.attempt_end_wait(
            attempt=attempt, **{"wait_id": _valid(EndWaitSerializer, request)["wait"]}
        )
        attempt.refresh_from_db()
        return Response(AttemptSerializer(attempt).data)

    @extend_schema(request=VerdictSerializer, responses=AttemptSerializer)
    @action(detail=True, methods=["post"])
    def verdict(self, request: Request, pk=None) -> Response:
        """QA's final verdict and the result text for the report."""
        attempt = self.get_object()
        services.attempt_record_verdict(
            attempt=attempt, user=request.user, **_valid(VerdictSerializer, request)
        )
        attempt.refresh_from_db()
        return Response(AttemptSerializer(attempt).data)


class PromptViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PromptSerializer

    def get_queryset(self):
        return Prompt.objects.filter(
            attempt__in=selectors.attempts_for(user=self.request.user)
        ).select_related("attempt__station", "answered_by")

    @extend_schema(request=PromptAnswerSerializer, responses=PromptSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk=None) -> Response:
        """Answer with one of the prompt's choices ("Done", "Cannot do", …) and, where the
        prompt asks for it, a value (the tag presented, the error created)."""
        prompt = self.get_object()
        services.prompt_answer(
            prompt=prompt, user=request.user, **_valid(PromptAnswerSerializer, request)
        )
        prompt.refresh_from_db()
        return Response(self.get_serializer(prompt).data)

    @extend_schema(request=None, responses=PromptSerializer)
    @action(detail=True, methods=["post"])
    def simulate(self, request: Request, pk=None) -> Response:
        """Have the built-in simulator do the prompt's manual part, then answer it."""
        prompt = self.get_object()
        services.prompt_do_on_simulator(prompt=prompt, user=request.user)
        prompt.refresh_from_db()
        return Response(self.get_serializer(prompt).data)
