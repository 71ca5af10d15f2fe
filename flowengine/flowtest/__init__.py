"""Flow unit tests (`flowengine test`): messages in, expectations at named nodes, no broker.

A test file (`orders.test.yaml`, beside `orders.flow`) lists cases; each sends
messages into sources or any node, may stub nodes, and states what named nodes
pass on, which nodes fail and where failures are routed. Connector nodes run as
in-memory doubles (`doubles`), so a case takes milliseconds. The format is
documented in docs/flow-tests.md and defined by `schema.SCHEMA`.
"""

from flowengine.flowtest.report import junit_xml, text_report
from flowengine.flowtest.runner import CaseResult, RunResult, discover, run_paths

__all__ = ["CaseResult", "RunResult", "discover", "junit_xml", "run_paths", "text_report"]
