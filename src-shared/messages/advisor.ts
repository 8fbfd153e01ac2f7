// The advisor's refusals: a model it cannot plan for, and why.
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {
    'advisor.lacksKey': "model metadata lacks a usable '{key}' (needed to estimate memory)",
    'advisor.lacksArchitecture': "model metadata lacks 'general.architecture'",
    'advisor.lacksHeadCount': "model metadata lacks a usable '{key}'",
    'advisor.nothingPlannable': 'no quant type can be made from this model',
    'advisor.nothingPlannableBecause': 'no quant type can be made from this model: {reason}',
  },
  'zh-CN': {
    'advisor.lacksKey': '模型元数据缺少可用的 “{key}”（估算内存需要它）',
    'advisor.lacksArchitecture': '模型元数据缺少 “general.architecture”',
    'advisor.lacksHeadCount': '模型元数据缺少可用的 “{key}”',
    'advisor.nothingPlannable': '这个模型无法量化为任何类型',
    'advisor.nothingPlannableBecause': '这个模型无法量化为任何类型：{reason}',
  },
} satisfies Catalogue;
