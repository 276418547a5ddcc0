"""Protocol engine: declarative ruxolitinib regimens, daily decisions with rationale, replay, audit.

A regimen is a data file (``knowledge/regimens/<id>.yaml``): schedule or dose levels, starting
dose, modification rules (condition -> effect, each with its source and verification status),
required labs with freshness windows, eligibility and monitoring. One evaluator applies any
regimen, over one patient-day (:func:`decide`) or many at once (:func:`decide_many`).
"""

from ruxtrack.protocol._decision import (
    AlertItem,
    Decision,
    DoseOut,
    InputUsed,
    MonitoringDue,
    RationaleEntry,
    TeamAction,
    decide,
    decide_inputs,
    decide_many,
)
from ruxtrack.protocol._engine import ACTIONS, FLAGS, ArrayDecisions, evaluate_columns
from ruxtrack.protocol._inputs import (
    DecisionInputs,
    DoseState,
    DrugFact,
    LabReading,
    adhoc_inputs,
    inputs_from_timeline,
    parse_current_dose,
    parse_drug,
    to_columns,
)
from ruxtrack.protocol._replay import Audit, AuditRow, Replay, ReplayDay, audit, replay
from ruxtrack.protocol._schema import (
    Condition,
    Regimen,
    Rule,
    list_regimens,
    load_interactions,
    load_regimen,
)

__all__ = [
    "ACTIONS",
    "FLAGS",
    "AlertItem",
    "ArrayDecisions",
    "Audit",
    "AuditRow",
    "Condition",
    "Decision",
    "DecisionInputs",
    "DoseOut",
    "DoseState",
    "DrugFact",
    "InputUsed",
    "LabReading",
    "MonitoringDue",
    "RationaleEntry",
    "Regimen",
    "Replay",
    "ReplayDay",
    "Rule",
    "TeamAction",
    "adhoc_inputs",
    "audit",
    "decide",
    "decide_inputs",
    "decide_many",
    "evaluate_columns",
    "inputs_from_timeline",
    "list_regimens",
    "load_interactions",
    "load_regimen",
    "parse_current_dose",
    "parse_drug",
    "replay",
    "to_columns",
]
