"""The epilot plugin: epilot's world, behaviours, pricing and ERP mapping, on the generic engine."""
