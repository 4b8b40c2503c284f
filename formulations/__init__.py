"""Problem families: instance schema, generator, system model, evaluator, exact models. Installed as `optkit.formulations`."""
