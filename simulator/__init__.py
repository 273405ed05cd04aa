"""CertLab's built-in OCPP 1.6-J charge-point simulator.

A charger, not part of the Central System: it talks to CertLab only over its websocket and
imports nothing from ``stations``, ``campaigns`` or ``certlab`` (only ``apps.py`` and the
management command touch Django). Entry points: :class:`simulator.station.Simulator` from code,
``python manage.py simulate`` from a shell.
"""

from simulator.station import Simulator, Timing

__all__ = ["Simulator", "Timing"]
