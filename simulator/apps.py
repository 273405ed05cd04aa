from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    """Registers the ``simulate`` management command; the simulator itself needs no models."""

    name = "simulator"
    verbose_name = "OCPP 1.6 charge-point simulator"
