"""Attribute and metric names used by otel-cost.

DO NOT EDIT: generated from semconv/registry/ by scripts/gen_semconv.py.
"""

from __future__ import annotations


# registry.cost (cost.yaml)
COST_AMOUNT = 'cost.amount'
COST_CURRENCY = 'cost.currency'
COST_STATUS = 'cost.status'
COST_STATUS_VALUE_PRICED = 'priced'
COST_STATUS_VALUE_PARTIAL = 'partial'
COST_STATUS_VALUE_UNPRICED = 'unpriced'
COST_REASON = 'cost.reason'
COST_SOURCE = 'cost.source'
COST_SOURCE_VALUE_LOCAL = 'local'
COST_SOURCE_VALUE_PROVIDER = 'provider'
COST_BREAKDOWN = 'cost.breakdown'  # template: append '.<key>'
COST_PRICE_REF = 'cost.price.ref'
COST_USAGE_ESTIMATED = 'cost.usage.estimated'
COST_ATTRIBUTION = 'cost.attribution'  # template: append '.<key>'
COST_UNITS = 'cost.units'
COST_ROLLUP_AMOUNT = 'cost.rollup.amount'

# registry.cost.proposed (cost.yaml)
GEN_AI_USAGE_COST_AMOUNT = 'gen_ai.usage.cost.amount'
GEN_AI_USAGE_COST_CURRENCY = 'gen_ai.usage.cost.currency'
GEN_AI_USAGE_COST_SOURCE = 'gen_ai.usage.cost.source'
GEN_AI_USAGE_COST_SOURCE_VALUE_PROVIDER = 'provider'
GEN_AI_USAGE_COST_SOURCE_VALUE_LOCAL = 'local'

# registry.cost.mirror (cost.yaml)
OPERATION_COST = 'operation.cost'
GEN_AI_USAGE_COST = 'gen_ai.usage.cost'
LLM_COST_TOTAL = 'llm.cost.total'
LLM_COST_PROMPT = 'llm.cost.prompt'
LLM_COST_COMPLETION = 'llm.cost.completion'

# reads.gen_ai (reads.yaml)
GEN_AI_OPERATION_NAME = 'gen_ai.operation.name'  # upstream
GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name'  # upstream
GEN_AI_SYSTEM = 'gen_ai.system'  # upstream
GEN_AI_REQUEST_MODEL = 'gen_ai.request.model'  # upstream
GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model'  # upstream
GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens'  # upstream
GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens'  # upstream
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens'  # upstream
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS = 'gen_ai.usage.cache_write.input_tokens'  # upstream
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation.input_tokens'  # upstream
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = 'gen_ai.usage.reasoning.output_tokens'  # upstream
GEN_AI_USAGE_PROMPT_TOKENS = 'gen_ai.usage.prompt_tokens'  # upstream
GEN_AI_USAGE_COMPLETION_TOKENS = 'gen_ai.usage.completion_tokens'  # upstream
GEN_AI_USAGE_TOTAL_TOKENS = 'gen_ai.usage.total_tokens'  # upstream
GEN_AI_TOKEN_TYPE = 'gen_ai.token.type'  # upstream
GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id'  # upstream
GEN_AI_AGENT_NAME = 'gen_ai.agent.name'  # upstream
GEN_AI_AGENT_ID = 'gen_ai.agent.id'  # upstream
GEN_AI_TOOL_NAME = 'gen_ai.tool.name'  # upstream
GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id'  # upstream
GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages'  # upstream
GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages'  # upstream
GEN_AI_SYSTEM_INSTRUCTIONS = 'gen_ai.system_instructions'  # upstream
GEN_AI_PROMPT = 'gen_ai.prompt'  # upstream
GEN_AI_COMPLETION = 'gen_ai.completion'  # upstream
GEN_AI_REQUEST_SERVICE_TIER = 'gen_ai.request.service_tier'  # upstream
GEN_AI_RESPONSE_SERVICE_TIER = 'gen_ai.response.service_tier'  # upstream
GEN_AI_OPENAI_REQUEST_SERVICE_TIER = 'gen_ai.openai.request.service_tier'  # upstream
GEN_AI_OPENAI_RESPONSE_SERVICE_TIER = 'gen_ai.openai.response.service_tier'  # upstream
OPENAI_REQUEST_SERVICE_TIER = 'openai.request.service_tier'  # upstream
OPENAI_RESPONSE_SERVICE_TIER = 'openai.response.service_tier'  # upstream

# reads.openllmetry (reads.yaml)
OPENLLMETRY_LLM_USAGE_PROMPT_TOKENS = 'llm.usage.prompt_tokens'  # upstream
OPENLLMETRY_LLM_USAGE_COMPLETION_TOKENS = 'llm.usage.completion_tokens'  # upstream
OPENLLMETRY_LLM_USAGE_TOTAL_TOKENS = 'llm.usage.total_tokens'  # upstream
OPENLLMETRY_LLM_REQUEST_TYPE = 'llm.request.type'  # upstream
OPENLLMETRY_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read_input_tokens'  # upstream
OPENLLMETRY_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation_input_tokens'  # upstream
OPENLLMETRY_GEN_AI_USAGE_REASONING_TOKENS = 'gen_ai.usage.reasoning_tokens'  # upstream
OPENLLMETRY_LLM_USAGE_REASONING_TOKENS = 'llm.usage.reasoning_tokens'  # upstream
OPENLLMETRY_TRACELOOP_SPAN_KIND = 'traceloop.span.kind'  # upstream
OPENLLMETRY_TRACELOOP_ENTITY_NAME = 'traceloop.entity.name'  # upstream

# reads.openinference (reads.yaml)
LLM_TOKEN_COUNT_PROMPT = 'llm.token_count.prompt'  # upstream
LLM_TOKEN_COUNT_COMPLETION = 'llm.token_count.completion'  # upstream
LLM_TOKEN_COUNT_TOTAL = 'llm.token_count.total'  # upstream
LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ = 'llm.token_count.prompt_details.cache_read'  # upstream
LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE = 'llm.token_count.prompt_details.cache_write'  # upstream
LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_INPUT = 'llm.token_count.prompt_details.cache_input'  # upstream
LLM_TOKEN_COUNT_PROMPT_DETAILS_AUDIO = 'llm.token_count.prompt_details.audio'  # upstream
LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING = 'llm.token_count.completion_details.reasoning'  # upstream
LLM_TOKEN_COUNT_COMPLETION_DETAILS_AUDIO = 'llm.token_count.completion_details.audio'  # upstream
LLM_MODEL_NAME = 'llm.model_name'  # upstream
LLM_REQUEST_MODEL_NAME = 'llm.request.model_name'  # upstream
LLM_RESPONSE_MODEL_NAME = 'llm.response.model_name'  # upstream
EMBEDDING_MODEL_NAME = 'embedding.model_name'  # upstream
LLM_PROVIDER = 'llm.provider'  # upstream
LLM_SYSTEM = 'llm.system'  # upstream
OPENINFERENCE_SPAN_KIND = 'openinference.span.kind'  # upstream
INPUT_VALUE = 'input.value'  # upstream
OUTPUT_VALUE = 'output.value'  # upstream

# reads.http (reads.yaml)
HTTP_REQUEST_METHOD = 'http.request.method'  # upstream
HTTP_METHOD = 'http.method'  # upstream
URL_FULL = 'url.full'  # upstream
HTTP_URL = 'http.url'  # upstream
SERVER_ADDRESS = 'server.address'  # upstream
SERVER_PORT = 'server.port'  # upstream
NET_PEER_NAME = 'net.peer.name'  # upstream
HTTP_HOST = 'http.host'  # upstream
URL_PATH = 'url.path'  # upstream
HTTP_TARGET = 'http.target'  # upstream
HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code'  # upstream
HTTP_STATUS_CODE = 'http.status_code'  # upstream
HTTP_REQUEST_RESEND_COUNT = 'http.request.resend_count'  # upstream

# reads.error (reads.yaml)
ERROR_TYPE = 'error.type'  # upstream
EXCEPTION_TYPE = 'exception.type'  # upstream
EXCEPTION_MESSAGE = 'exception.message'  # upstream

# reads.attribution (reads.yaml)
USER_ID = 'user.id'  # upstream
ENDUSER_ID = 'enduser.id'  # upstream
SESSION_ID = 'session.id'  # upstream
SERVICE_NAME = 'service.name'  # upstream
SERVICE_INSTANCE_ID = 'service.instance.id'  # upstream
DEPLOYMENT_ENVIRONMENT_NAME = 'deployment.environment.name'  # upstream
DEPLOYMENT_ENVIRONMENT = 'deployment.environment'  # upstream

# metrics
METRIC_COST_SPEND = 'cost.spend'  # counter
METRIC_COST_CALLS = 'cost.calls'  # counter
METRIC_COST_TOKENS = 'cost.tokens'  # counter
METRIC_COST_UNPRICED_CALLS = 'cost.unpriced.calls'  # counter
METRIC_GEN_AI_CLIENT_TOKEN_USAGE = 'gen_ai.client.token.usage'  # histogram
METRIC_GEN_AI_CLIENT_OPERATION_DURATION = 'gen_ai.client.operation.duration'  # histogram
