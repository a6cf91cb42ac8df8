"""How zones past raw move without a person: declarative automation carries each zone forward
when its inputs change, as Step Functions would follow EventBridge."""

import dagster as dg

# Zones past clean follow their inputs, but only over data whose blocking checks passed: a failed
# great_expectations or accounting check upstream holds everything below it back.
FOLLOWS_UPSTREAM = (dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()).with_label(
    "eager, once upstream blocking checks pass"
)


zone_automation = dg.AutomationConditionSensorDefinition(
    name="zone_automation",
    description="Evaluates the assets' automation conditions: carries each zone forward when its inputs change.",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
