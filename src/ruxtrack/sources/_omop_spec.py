"""OMOP CDM v5.4 clinical tables ruxtrack writes and reads: columns in order, with their kinds.

Kinds: ``int`` (BIGINT), ``float``, ``date``, ``datetime``, ``text``. ``required`` columns are the
ones the importer needs (the CDM's own NOT NULL columns for these tables, as far as ruxtrack
reads them).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["CDM_TABLES", "REQUIRED", "CdmKind"]

CdmKind = Literal["int", "float", "date", "datetime", "text"]

_I: CdmKind = "int"
_F: CdmKind = "float"
_D: CdmKind = "date"
_T: CdmKind = "datetime"
_S: CdmKind = "text"

CDM_TABLES: dict[str, tuple[tuple[str, CdmKind], ...]] = {
    "person": (
        ("person_id", _I), ("gender_concept_id", _I), ("year_of_birth", _I),
        ("month_of_birth", _I), ("day_of_birth", _I), ("birth_datetime", _T),
        ("race_concept_id", _I), ("ethnicity_concept_id", _I), ("location_id", _I),
        ("provider_id", _I), ("care_site_id", _I), ("person_source_value", _S),
        ("gender_source_value", _S), ("gender_source_concept_id", _I), ("race_source_value", _S),
        ("race_source_concept_id", _I), ("ethnicity_source_value", _S),
        ("ethnicity_source_concept_id", _I),
    ),
    "observation_period": (
        ("observation_period_id", _I), ("person_id", _I), ("observation_period_start_date", _D),
        ("observation_period_end_date", _D), ("period_type_concept_id", _I),
    ),
    "visit_occurrence": (
        ("visit_occurrence_id", _I), ("person_id", _I), ("visit_concept_id", _I),
        ("visit_start_date", _D), ("visit_start_datetime", _T), ("visit_end_date", _D),
        ("visit_end_datetime", _T), ("visit_type_concept_id", _I), ("provider_id", _I),
        ("care_site_id", _I), ("visit_source_value", _S), ("visit_source_concept_id", _I),
        ("admitted_from_concept_id", _I), ("admitted_from_source_value", _S),
        ("discharged_to_concept_id", _I), ("discharged_to_source_value", _S),
        ("preceding_visit_occurrence_id", _I),
    ),
    "condition_occurrence": (
        ("condition_occurrence_id", _I), ("person_id", _I), ("condition_concept_id", _I),
        ("condition_start_date", _D), ("condition_start_datetime", _T), ("condition_end_date", _D),
        ("condition_end_datetime", _T), ("condition_type_concept_id", _I),
        ("condition_status_concept_id", _I), ("stop_reason", _S), ("provider_id", _I),
        ("visit_occurrence_id", _I), ("visit_detail_id", _I), ("condition_source_value", _S),
        ("condition_source_concept_id", _I), ("condition_status_source_value", _S),
    ),
    "drug_exposure": (
        ("drug_exposure_id", _I), ("person_id", _I), ("drug_concept_id", _I),
        ("drug_exposure_start_date", _D), ("drug_exposure_start_datetime", _T),
        ("drug_exposure_end_date", _D), ("drug_exposure_end_datetime", _T),
        ("verbatim_end_date", _D), ("drug_type_concept_id", _I), ("stop_reason", _S),
        ("refills", _I), ("quantity", _F), ("days_supply", _I), ("sig", _S),
        ("route_concept_id", _I), ("lot_number", _S), ("provider_id", _I),
        ("visit_occurrence_id", _I), ("visit_detail_id", _I), ("drug_source_value", _S),
        ("drug_source_concept_id", _I), ("route_source_value", _S),
        ("dose_unit_source_value", _S),
    ),
    "measurement": (
        ("measurement_id", _I), ("person_id", _I), ("measurement_concept_id", _I),
        ("measurement_date", _D), ("measurement_datetime", _T), ("measurement_time", _S),
        ("measurement_type_concept_id", _I), ("operator_concept_id", _I),
        ("value_as_number", _F), ("value_as_concept_id", _I), ("unit_concept_id", _I),
        ("range_low", _F), ("range_high", _F), ("provider_id", _I), ("visit_occurrence_id", _I),
        ("visit_detail_id", _I), ("measurement_source_value", _S),
        ("measurement_source_concept_id", _I), ("unit_source_value", _S),
        ("unit_source_concept_id", _I), ("value_source_value", _S),
        ("measurement_event_id", _I), ("meas_event_field_concept_id", _I),
    ),
    "procedure_occurrence": (
        ("procedure_occurrence_id", _I), ("person_id", _I), ("procedure_concept_id", _I),
        ("procedure_date", _D), ("procedure_datetime", _T), ("procedure_end_date", _D),
        ("procedure_end_datetime", _T), ("procedure_type_concept_id", _I),
        ("modifier_concept_id", _I), ("quantity", _I), ("provider_id", _I),
        ("visit_occurrence_id", _I), ("visit_detail_id", _I), ("procedure_source_value", _S),
        ("procedure_source_concept_id", _I), ("modifier_source_value", _S),
    ),
    "device_exposure": (
        ("device_exposure_id", _I), ("person_id", _I), ("device_concept_id", _I),
        ("device_exposure_start_date", _D), ("device_exposure_start_datetime", _T),
        ("device_exposure_end_date", _D), ("device_exposure_end_datetime", _T),
        ("device_type_concept_id", _I), ("unique_device_id", _S), ("production_id", _S),
        ("quantity", _I), ("provider_id", _I), ("visit_occurrence_id", _I),
        ("visit_detail_id", _I), ("device_source_value", _S), ("device_source_concept_id", _I),
        ("unit_concept_id", _I), ("unit_source_value", _S), ("unit_source_concept_id", _I),
    ),
    "observation": (
        ("observation_id", _I), ("person_id", _I), ("observation_concept_id", _I),
        ("observation_date", _D), ("observation_datetime", _T),
        ("observation_type_concept_id", _I), ("value_as_number", _F), ("value_as_string", _S),
        ("value_as_concept_id", _I), ("qualifier_concept_id", _I), ("unit_concept_id", _I),
        ("provider_id", _I), ("visit_occurrence_id", _I), ("visit_detail_id", _I),
        ("observation_source_value", _S), ("observation_source_concept_id", _I),
        ("unit_source_value", _S), ("qualifier_source_value", _S), ("value_source_value", _S),
        ("observation_event_id", _I), ("obs_event_field_concept_id", _I),
    ),
    "death": (
        ("person_id", _I), ("death_date", _D), ("death_datetime", _T),
        ("death_type_concept_id", _I), ("cause_concept_id", _I), ("cause_source_value", _S),
        ("cause_source_concept_id", _I),
    ),
}  # fmt: skip

#: Columns the importer cannot do without, per table.
REQUIRED: dict[str, tuple[str, ...]] = {
    "person": ("person_id", "gender_concept_id"),
    "observation_period": (),
    "visit_occurrence": ("person_id", "visit_start_date"),
    "condition_occurrence": ("person_id", "condition_concept_id", "condition_start_date"),
    "drug_exposure": ("person_id", "drug_concept_id", "drug_exposure_start_date"),
    "measurement": ("person_id", "measurement_concept_id", "measurement_date"),
    "procedure_occurrence": ("person_id", "procedure_concept_id", "procedure_date"),
    "device_exposure": ("person_id", "device_concept_id", "device_exposure_start_date"),
    "observation": ("person_id", "observation_concept_id", "observation_date"),
    "death": ("person_id", "death_date"),
}
