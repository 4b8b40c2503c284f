"""Gymnasium registrations of optkit's environments (imports gymnasium, so it is not imported by `optkit`).

    import gymnasium, optkit.envs
    env = gymnasium.make("optkit/LeoHandover-v0", scenario="smoke")
    env = gymnasium.make("optkit/Sagin-v0", scenario="quick")          # one UAV; SaginMulti-v0: all UAVs (CTDE)
or, without the import: gymnasium.make("optkit.envs:optkit/LeoHandover-v0").
"""
from gymnasium.envs.registration import register, registry

ENVS = {"optkit/LeoHandover-v0": "optkit.formulations.leo_handover.gym_env:LeoHandoverGymEnv",
        "optkit/Sagin-v0": "optkit.formulations.sagin.gym_env:SaginGymEnv",
        "optkit/SaginMulti-v0": "optkit.formulations.sagin.gym_env:SaginMultiGymEnv"}

for _id, _entry in ENVS.items():
    if _id not in registry:
        register(id=_id, entry_point=_entry)
