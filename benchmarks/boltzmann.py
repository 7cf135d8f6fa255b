"""The Boltzmann wealth model: the plain object-per-agent Mesa 3 reference for bench.py.

The standard no-space variant of the Mesa tutorial: every agent starts with one unit of wealth,
and each step every agent that has wealth gives one unit to a random other agent, the agents
acting in a fresh random order (``self.agents.shuffle_do("step")``).

One deliberate departure from the tutorial: the tutorial draws the partner with
``self.random.choice(self.model.agents)``, and in Mesa 3.3 ``AgentSet.__getitem__`` copies the
whole set into a list on every call, so each draw costs O(N) and a step O(N²) — at 40,000 agents
that measures the copy, not the agent. The model keeps a plain list of its agents instead (built
once, the agent set never changes), which makes the reference a fair, fast baseline.
"""

from __future__ import annotations

import mesa


class MoneyAgent(mesa.Agent):
    """An agent with some wealth that gives one unit away each step while it has any."""

    def __init__(self, model: BoltzmannModel):
        super().__init__(model)
        self.wealth = 1

    def step(self) -> None:
        if self.wealth > 0:
            other = self.random.choice(self.model.agent_list)
            while other is self:
                other = self.random.choice(self.model.agent_list)
            other.wealth += 1
            self.wealth -= 1


class BoltzmannModel(mesa.Model):
    """``n`` money agents, no space."""

    def __init__(self, n: int, seed: int):
        super().__init__(seed=seed)
        self.num_agents = int(n)
        MoneyAgent.create_agents(self, self.num_agents)
        self.agent_list = list(self.agents)

    def step(self) -> None:
        self.agents.shuffle_do("step")

    def run(self, steps: int) -> BoltzmannModel:
        for _ in range(steps):
            self.step()
        return self

    def total_wealth(self) -> int:
        return sum(a.wealth for a in self.agent_list)
