from django.urls import path

from campaigns import compare_views, export_views, vendor_views, views
from stations import frame_export  # noqa: F401  (registers <frames:…>)

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("new/", views.campaign_create, name="campaign_create"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/complete/", views.campaign_complete, name="campaign_complete"),
    path("<int:pk>/reopen/", views.campaign_reopen, name="campaign_reopen"),
    path(
        "<int:pk>/reopen-signed-off/",
        views.campaign_reopen_signed_off,
        name="campaign_reopen_signed_off",
    ),
    path(
        "<int:pk>/apply-declaration/",
        views.campaign_apply_declaration,
        name="campaign_apply_declaration",
    ),
    path("<int:pk>/run-all/", views.campaign_run_all, name="campaign_run_all"),
    path("<int:pk>/run-all/stop/", views.campaign_run_all_stop, name="campaign_run_all_stop"),
    path("<int:pk>/sign-off/", views.campaign_sign_off, name="campaign_sign_off"),
    path("<int:pk>/history/", views.campaign_history, name="campaign_history"),
    path("<int:pk>/share/", vendor_views.campaign_share, name="campaign_share"),
    path("<int:pk>/unshare/", vendor_views.campaign_unshare, name="campaign_unshare"),
    path("<int:pk>/acknowledge/", vendor_views.campaign_acknowledge, name="campaign_acknowledge"),
    path("<int:pk>/report/", views.report, name="report"),
    path("<int:pk>/report.pdf", views.report_pdf, name="report_pdf"),
    path("<int:pk>/evidence.zip", views.evidence_bundle, name="evidence_bundle"),
    path("<int:pk>/frames.<frames:fmt>", export_views.campaign_frames, name="campaign_frames"),
    path("<int:pk>/verdicts.json", export_views.verdicts_json, name="verdicts_json"),
    path("<int:pk>/verdicts.xml", export_views.verdicts_junit, name="verdicts_junit"),
    path("<int:pk>/compare/", compare_views.compare_choose, name="compare_choose"),
    path("<int:pk>/compare/<int:other>/", compare_views.compare_campaigns, name="compare"),
    path("<int:pk>/compare/<int:other>.pdf", compare_views.compare_pdf, name="compare_pdf"),
    path("<int:pk>/steps/<int:number>/", views.step_detail, name="step_detail"),
    path("<int:pk>/steps/<int:number>/run/", views.step_run, name="step_run"),
    path("<int:pk>/steps/<int:number>/plan/", views.step_plan, name="step_plan"),
    path("attempts/<int:attempt_pk>/panel/", views.attempt_panel, name="attempt_panel"),
    path(
        "attempts/<int:attempt_pk>/frames.<frames:fmt>",
        export_views.attempt_frames,
        name="attempt_frames",
    ),
    path("attempts/<int:attempt_pk>/abort/", views.attempt_abort, name="attempt_abort"),
    path("attempts/<int:attempt_pk>/end-wait/", views.attempt_end_wait, name="attempt_end_wait"),
    path("attempts/<int:attempt_pk>/verdict/", views.attempt_verdict, name="attempt_verdict"),
    path("prompts/<int:prompt_pk>/answer/", views.prompt_answer, name="prompt_answer"),
    path("prompts/<int:prompt_pk>/simulate/", views.prompt_simulate, name="prompt_simulate"),
]
