"""What Rasa loads by name: the channels (credentials.yml), the NLU components and the policy
(config.yml), the tracker and lock stores (endpoints.yml), and our changes to Rasa itself
(`patches`, installed once by the channels module in the server process)."""
