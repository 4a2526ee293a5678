"""SimPy processes of the capsim model: demand, policy, deals, grid queues, equipment, build."""
